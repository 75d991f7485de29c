import { connectNats, type NatsConnection, type WebSocketConstructor } from "./ws-connection.js";

export type { WebSocketConstructor } from "./ws-connection.js";

/** Where a participant's NATS connection goes and what it presents. */
export interface ParticipantConnectionOptions {
  /** WebSocket URLs from VerifyToken (`nats_ws_urls`). */
  servers: string[];
  /** Read at every connect, so a renewed token is what the next connect presents. */
  token: () => string;
  /** Default: the runtime's WebSocket. Node 20 has none: pass `nodeWebSocket` from `@pnm/client/node`. */
  webSocket?: WebSocketConstructor;
  /** The connection's name as the NATS server reports it; default "pnm-participant". */
  name?: string;
}

/** The runtime has no WebSocket and none was passed. */
export class WebSocketUnavailableError extends Error {
  override readonly name = "WebSocketUnavailableError";
}

/**
 * Connects a participant to NATS over WebSocket, authenticated by its access
 * token. The connection does not reconnect: the session opens a new one,
 * with the token of the moment, when it drops. Rejects with
 * NatsAuthorizationError when the server (its auth callout) refuses the token.
 */
export function connectParticipant(options: ParticipantConnectionOptions): Promise<NatsConnection> {
  const webSocket = options.webSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
  if (!webSocket) {
    throw new WebSocketUnavailableError(
      "this runtime has no WebSocket; pass one (in Node 20: nodeWebSocket from @pnm/client/node)",
    );
  }
  return connectNats({
    servers: options.servers,
    token: options.token,
    webSocket,
    name: options.name ?? "pnm-participant",
  });
}
