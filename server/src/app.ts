import type { NatsConnection } from "@nats-io/nats-core";
import { createAccessTokenCodec } from "./auth/access-token.js";
import { createApiSignatureVerifier } from "./auth/api-signature.js";
import type { PnmConfig } from "./config.js";
import type { NatsKeys } from "./nats/nats-keys.js";
import { createConnectRoutes, type NodeHandler } from "./http/connect-routes.js";
import { listenDualProtocol } from "./http/listener.js";
import { createRestRoutes } from "./http/rest-routes.js";
import { consoleLogger, type Logger } from "./logger.js";
import { createParticipantService } from "./services/participant-service.js";
import { createRoomService } from "./services/room-service.js";
import { createRoomStore } from "./store/room-store.js";

export interface PnmServerOptions {
  config: PnmConfig;
  nc: NatsConnection;
  /** The deployment's NATS keys: the auth callout signs with them. */
  keys: NatsKeys;
  /** Bucket prefix in NATS KV; instances that share state use the same one. */
  storePrefix?: string;
  logger?: Logger;
}

export interface PnmServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startPnmServer(options: PnmServerOptions): Promise<PnmServer> {
  const { config, nc } = options;
  const logger = options.logger ?? consoleLogger;
  const store = await createRoomStore({ nc, prefix: options.storePrefix });
  const tokens = createAccessTokenCodec(config);
  const signature = createApiSignatureVerifier(config);
  const rooms = createRoomService({ store, tokens, tokenValidityMs: config.tokenValidityMs });
  const participants = createParticipantService({ store, tokens, natsWsUrls: () => config.natsWsUrls });
  const routeOptions = { rooms, participants, signature, maxBodyBytes: config.maxBodyBytes, logger };
  const routes = new Map([...createConnectRoutes(routeOptions), ...createRestRoutes(routeOptions)]);

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
  const listener = await listenDualProtocol({ host: config.host, port: config.httpPort, handler });
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${listener.port}`,
    port: listener.port,
    close: () => listener.close(),
  };
}
