import { type NatsConnection, nkeyAuthenticator, nuid } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsKeyEntry } from "./nats-keys.js";

export interface ServerConnectionOptions {
  /** One NATS URL, or several separated by commas (servers of one cluster: any of them will do). */
  url: string;
  /** The nkey user the connection authenticates as (it bypasses the auth callout). */
  user: NatsKeyEntry;
  name?: string;
  /**
   * The root of the connection's reply subjects; default a fresh
   * `serverInboxPrefix()`, because participants of rooms open to upstream's
   * web client may subscribe to `_INBOX.>` in account PNM. Only the system
   * user's connection, in account SYS where no participant is, keeps nats.js's
   * `_INBOX` (`systemInboxPrefix`), which its nats-server permissions allow.
   */
  inboxPrefix?: string;
}

/**
 * Where pnm's own replies in account PNM arrive: `_PNM_INBOX.<nuid>`, one per
 * connection. No participant's permissions match it (strict participants read
 * `_INBOX_R.U.>` only, upstream-compatible ones `_INBOX.>`), and it cannot
 * collide with a participant's inbox, since a room id never contains a dot.
 */
function serverInboxPrefix(): string {
  return `${serverInboxRoot}.${nuid.next()}`;
}

/** The first token of every `serverInboxPrefix()`. */
export const serverInboxRoot = "_PNM_INBOX";

/** nats.js's default root, for the system user's connection (`systemUserPermissions` in nats-config.ts). */
export const systemInboxPrefix = "_INBOX";

/** Connects a pnm server process to NATS with its own nkey identity. */
export function connectAsServer(options: ServerConnectionOptions): Promise<NatsConnection> {
  return connect({
    servers: natsServerList(options.url),
    authenticator: nkeyAuthenticator(new TextEncoder().encode(options.user.seed)),
    name: options.name ?? "pnm-server",
    maxReconnectAttempts: -1,
    // Admission's KV reads and writes are requests: a stack trace captured for each costs more than the rest of them.
    noAsyncTraces: true,
    inboxPrefix: options.inboxPrefix ?? serverInboxPrefix(),
  });
}

/** The servers of a comma-separated `PNM_NATS_URL`. */
export function natsServerList(url: string): string[] {
  return url
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}
