import { type NatsConnection, nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsKeyEntry } from "./nats-keys.js";

export interface ServerConnectionOptions {
  /** One NATS URL, or several separated by commas (servers of one cluster: any of them will do). */
  url: string;
  /** The nkey user the connection authenticates as (it bypasses the auth callout). */
  user: NatsKeyEntry;
  name?: string;
}

/** Connects a pnm server process to NATS with its own nkey identity. */
export function connectAsServer(options: ServerConnectionOptions): Promise<NatsConnection> {
  return connect({
    servers: natsServerList(options.url),
    authenticator: nkeyAuthenticator(new TextEncoder().encode(options.user.seed)),
    name: options.name ?? "pnm-server",
    maxReconnectAttempts: -1,
  });
}

/** The servers of a comma-separated `PNM_NATS_URL`. */
export function natsServerList(url: string): string[] {
  return url
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
