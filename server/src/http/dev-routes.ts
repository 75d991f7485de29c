import type { NatsConnection } from "@nats-io/nats-core";
import type { ApiKeyring } from "../auth/api-keyring.js";
import type { Logger } from "../logger.js";
import { participantPermissions } from "../plane/permissions.js";
import type { NodeHandler } from "./connect-routes.js";
import { createDemoPages } from "./demo-pages.js";
import { DevRequestError, jsonRoute, readJsonObject } from "./dev-json.js";
import { sameOriginOnly } from "./dev-origin.js";
import { isSignablePath, signForDemo } from "./dev-signing.js";
import { createWireWatch, type WireWatchLimits } from "./dev-wire.js";

/** What the dev-only routes use; `startPnmApp` adds them in dev mode only (`PnmConfig.devMode`). */
export interface DevRoutesOptions {
  /** The API key pairs: the newest signs for the demo. */
  keys: ApiKeyring;
  /** The server's NATS connection: the wire panel's observer subscribes on it. */
  nc: NatsConnection;
  /** The URLs participants connect to, which the pages' CSP allows. */
  natsWsUrls: readonly string[];
  /** The built demo (`PNM_DEMO_DIR`); undefined: the API routes only. */
  demoDir?: string;
  /** Largest request body, as on every route. */
  maxBodyBytes: number;
  /** The interface the server listens on (`PNM_HOST`): besides IP addresses and localhost, the one host name the API answers at. */
  host: string;
  /** The wire panel's limits; unset ones take `defaultWireWatchLimits`. */
  wire?: Partial<WireWatchLimits>;
  logger: Logger;
}

/** The dev routes, and how to end their open streams. */
export interface DevRoutes {
  routes: Map<string, NodeHandler>;
  close(): void;
}

/**
 * The demo's routes, for dev mode only: its pages (`/demo/`), the signer
 * that signs RoomService requests for them (`POST /demo/api/sign`), the
 * permissions the auth callout grants a participant (`POST
 * /demo/api/permissions`) and the wire panel's feed (`GET /demo/api/wire`).
 * The API routes answer the demo's own pages only (`sameOriginOnly`).
 */
export async function createDevRoutes(options: DevRoutesOptions): Promise<DevRoutes> {
  const onFault = (error: unknown) => options.logger.error("dev route failed", error);
  const text = (body: Record<string, unknown>, name: string) => {
    const value = body[name];
    if (typeof value !== "string" || value === "") throw new DevRequestError(400, `expected "${name}", a string`);
    return value;
  };
  const sign = jsonRoute(async (req) => {
    const body = await readJsonObject(req, options.maxBodyBytes);
    const path = text(body, "path");
    if (!isSignablePath(path)) throw new DevRequestError(400, `${path} is not a RoomService route`);
    if (typeof body.body !== "string") throw new DevRequestError(400, `expected "body", a string`);
    return signForDemo(options.keys, { path, body: body.body });
  }, onFault);
  const permissions = jsonRoute(async (req) => {
    const body = await readJsonObject(req, options.maxBodyBytes);
    return participantPermissions(text(body, "roomId"), text(body, "userId"));
  }, onFault);
  const wire = createWireWatch({ ...options.wire, nc: options.nc });
  const api = (handler: NodeHandler) => sameOriginOnly({ host: options.host }, handler);
  const pages = options.demoDir
    ? await createDemoPages({ dir: options.demoDir, natsWsUrls: options.natsWsUrls })
    : new Map<string, NodeHandler>();
  return {
    routes: new Map([
      ...pages,
      ["/demo/api/sign", api(sign)],
      ["/demo/api/permissions", api(permissions)],
      ["/demo/api/wire", api(wire.handler)],
    ]),
    close: wire.close,
  };
}
