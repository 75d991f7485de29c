import { type NatsConnection, tokenAuthenticator, wsconnect } from "@nats-io/nats-core";

/** What nats.js needs of a WebSocket class: the W3C API. */
export type WebSocketConstructor = new (url: string) => WebSocket;

export interface ParticipantConnectionOptions {
  /** WebSocket URLs from VerifyToken (`nats_ws_urls`). */
  servers: string[];
  /** Read at every (re)connect, so a renewed token is what the next connect presents. */
  token: () => string;
  /** The user's private inbox root from VerifyToken (`nats_inbox_prefix`). */
  inboxPrefix: string;
  /** Default: the runtime's WebSocket. Node 20 has none: pass `nodeWebSocket` from `@pnm/client/node`. */
  webSocket?: WebSocketConstructor;
  name?: string;
  /** Default true. */
  reconnect?: boolean;
}

/** The runtime has no WebSocket and none was passed. */
export class WebSocketUnavailableError extends Error {
  override readonly name = "WebSocketUnavailableError";
}

/** Connects a participant to NATS over WebSocket, authenticated by its access token. */
export function connectParticipant(options: ParticipantConnectionOptions): Promise<NatsConnection> {
  const WebSocketClass = options.webSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
  if (!WebSocketClass) {
    throw new WebSocketUnavailableError("this runtime has no WebSocket; pass one (in Node 20: nodeWebSocket from @pnm/client/node)");
  }
  return wsconnect({
    servers: options.servers,
    authenticator: tokenAuthenticator(options.token),
    inboxPrefix: options.inboxPrefix,
    name: options.name ?? "pnm-participant",
    reconnect: options.reconnect ?? true,
    wsFactory: async (url) => ({ socket: new WebSocketClass(url), encrypted: url.startsWith("wss://") }),
  });
}
