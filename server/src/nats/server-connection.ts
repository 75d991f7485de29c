import { type NatsConnection, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsKeyEntry } from "./nats-keys.js";

export interface ServerConnectionOptions {
  url: string;
  /** The nkey user the connection authenticates as (it bypasses the auth callout). */
  user: NatsKeyEntry;
  name?: string;
}

/** Connects a pnm server process to NATS with its own nkey identity. */
export function connectAsServer(options: ServerConnectionOptions): Promise<NatsConnection> {
  return connect({
    servers: options.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(options.user.seed)),
    name: options.name ?? "pnm-server",
    maxReconnectAttempts: -1,
  });
}
