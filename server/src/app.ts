import type { NatsConnection } from "@nats-io/nats-core";
import { createAccessTokenCodec } from "./auth/access-token.js";
import { createApiSignatureVerifier } from "./auth/api-signature.js";
import type { PnmConfig } from "./config.js";
import type { NatsKeys } from "./nats/nats-keys.js";
import { createConnectRoutes, type NodeHandler } from "./http/connect-routes.js";
import { withCors } from "./http/cors.js";
import { listenDualProtocol } from "./http/listener.js";
import { createRestRoutes } from "./http/rest-routes.js";
import { consoleLogger, type Logger } from "./logger.js";
import { createParticipantService, type ParticipantService } from "./services/participant-service.js";
import { createRoomService } from "./services/room-service.js";
import { createRoomStore } from "./store/room-store.js";
import { createConnectionAdmission } from "./nats/admission.js";
import { startAuthCallout } from "./nats/auth-callout.js";
import { createKicker, type Kicker } from "./nats/kicker.js";
import { participantPermissions } from "./nats/permissions.js";
import { createParticipantMessenger } from "./nats/participant-messenger.js";
import { startParticipantRequests } from "./nats/participant-requests.js";
import { startPresenceTracker } from "./nats/presence.js";
import { ensureRoomStreams } from "./nats/room-streams.js";
import { createSessionControl } from "./nats/session-control.js";
import { createTokenRenewal, type TokenRenewal } from "./services/token-renewal.js";
import { createMediaTokenIssuer } from "./media/media-tokens.js";

/**
 * What the app is composed of: connections and keys the caller owns. The
 * app neither opens nor closes them; `startPnmServer` does both.
 */
export interface PnmAppOptions {
  config: PnmConfig;
  nc: NatsConnection;
  /** A connection as the system user: connection events and kicks. */
  systemNc: NatsConnection;
  /** The deployment's NATS keys: the auth callout signs with them. */
  keys: NatsKeys;
  /**
   * Replaces parts of the composition, each handed pnm's own: for variants
   * such as instrumentation, or the harness's planted-fault servers.
   */
  decorate?: PnmAppDecorators;
  /** Bucket prefix in NATS KV; instances that share state use the same one. */
  storePrefix?: string;
  logger?: Logger;
}

export interface PnmAppDecorators {
  /** What closes NATS connections: duplicate sessions, removals, room ends. */
  kicker?: (own: Kicker) => Kicker;
  /** Token renewal over NATS. */
  renewal?: (own: TokenRenewal) => TokenRenewal;
  /** The participant checks the auth callout's admission runs (VerifyToken keeps pnm's own). */
  admissionParticipants?: (own: ParticipantService) => ParticipantService;
  /** The NATS permissions the auth callout grants. */
  permissions?: (own: typeof participantPermissions) => typeof participantPermissions;
}

export interface PnmApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * pnm's parts wired together on NATS connections the caller opened, serving
 * HTTP on `config.host`/`config.httpPort`.
 */
export async function startPnmApp(options: PnmAppOptions): Promise<PnmApp> {
  const { config, nc } = options;
  const logger = options.logger ?? consoleLogger;
  const store = await createRoomStore({ nc, prefix: options.storePrefix });
  const js = await ensureRoomStreams(nc);
  const tokens = createAccessTokenCodec(config);
  const signature = createApiSignatureVerifier(config);
  const timings = { pendingMs: 10_000, offlineAfterMs: config.offlineAfterMs };
  const decorate = options.decorate ?? {};
  const use = <T>(own: T, decorator: ((own: T) => T) | undefined): T => (decorator ? decorator(own) : own);
  const kicker = use(createKicker(options.systemNc, logger), decorate.kicker);
  const messenger = createParticipantMessenger(js);
  const sessions = createSessionControl(messenger, kicker, logger);
  const rooms = createRoomService({ store, tokens, tokenValidityMs: config.tokenValidityMs, sessions });
  const participants = createParticipantService({ store, tokens, natsWsUrls: () => config.natsWsUrls, timings });
  const renewal = use(createTokenRenewal({ tokens, participants, tokenValidityMs: config.tokenValidityMs, graceMs: config.renewalGraceMs }), decorate.renewal);
  const admission = createConnectionAdmission({ store, participants: use(participants, decorate.admissionParticipants), kicker, timings });
  const callout = startAuthCallout({ nc, keys: options.keys, admission, logger, permissions: use(participantPermissions, decorate.permissions) });
  const presence = startPresenceTracker({ systemConnection: options.systemNc, store, timings, logger });
  const media = config.livekit && createMediaTokenIssuer({ livekit: config.livekit, tokenValidityMs: config.tokenValidityMs });
  const requests = await startParticipantRequests({ nc, js, participants, renewal, messenger, logger, media });
  await Promise.all([nc.flush(), options.systemNc.flush()]);
  const routeOptions = { rooms, participants, signature, maxBodyBytes: config.maxBodyBytes, logger };
  const routes = new Map([...createConnectRoutes(routeOptions), ...createRestRoutes(routeOptions)]);
  for (const path of ["/pnm.v1.ParticipantService/VerifyToken", "/api/verifyToken"]) {
    routes.set(path, withCors({ allowedOrigins: config.corsOrigins }, routes.get(path)!));
  }

  const handler: NodeHandler = (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const route = routes.get(path);
    if (route) return route(req, res);
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end("ok");
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  };
  const listener = await listenDualProtocol({ host: config.host, port: config.httpPort, handler, limits: config, logger });
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${listener.port}`,
    port: listener.port,
    async close() {
      await listener.close();
      callout.subscription.unsubscribe();
      presence.close();
      await requests.close();
    },
  };
}
