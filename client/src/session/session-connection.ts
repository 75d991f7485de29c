import { NatsAuthorizationError } from "../nats/nats-errors.js";
import type { NatsConnection } from "../nats/ws-connection.js";

/** Something the session keeps on whichever connection it has: subscriptions, and what it sends. */
export interface SessionChannel {
  /** Sets the channel up on a (new) connection; returns how to tear it down. */
  attach(nc: NatsConnection): () => void;
}

/** How to (re)connect, and what to set up on every connection. */
export interface SessionConnectionOptions {
  /** Opens a new connection; called again after every drop. */
  connect: () => Promise<NatsConnection>;
  /** Attached to every new connection, which is flushed before it is used. */
  channels: SessionChannel[];
  /** Called when reconnecting failed `maxAttempts` times in a row. */
  onGiveUp: (error: Error) => void;
  /** First retry delay in ms, doubled up to `maxDelayMs`; default 250. */
  initialDelayMs?: number;
  /** Longest retry delay in ms; default 5000. */
  maxDelayMs?: number;
  /** Reconnect attempts in a row before giving up; default 8. */
  maxAttempts?: number;
  /**
   * Called when NATS refuses a reconnect (the auth callout said no): resolves to the error to end with, or to
   * undefined to keep trying. A refusal carries no reason, so the caller asks the server why instead of backing off
   * for as long as the attempts last.
   */
  onRefused?: (error: NatsAuthorizationError) => Promise<Error | undefined>;
}

/** The session's NATS connection, whichever it is at the moment. */
export interface SessionConnection {
  /** The connection now in use; after a drop, a later call returns its replacement. */
  current(): NatsConnection;
  /**
   * Replaces the connection now, presenting the current token: the server
   * fixes a connection's permissions when it admits it, so a participant the
   * waiting room admitted needs a new one. Joins a replacement already under
   * way (the server may have closed the old connection first). Rejects when
   * no new connection could be opened, after `onGiveUp`.
   */
  reconnect(): Promise<void>;
  /** Stops reconnecting, detaches the channels and closes the connection; never rejects. */
  close(): Promise<void>;
}

/**
 * Owns the participant's NATS connection and replaces it when it drops (the
 * server closes it when the NATS user of an old token expires, or on network
 * loss), presenting the current token each time. The connection itself
 * never reconnects, so every replacement goes through here.
 */
export async function openSessionConnection(options: SessionConnectionOptions): Promise<SessionConnection> {
  let closing = false;
  let nc = await options.connect();
  let detach = await attach(nc);
  let replacing: Promise<void> | undefined;

  async function attach(connection: NatsConnection): Promise<() => void> {
    const detachers = options.channels.map((channel) => channel.attach(connection));
    // The server must know the subscriptions before anything is asked of it.
    await connection.flush();
    return () => {
      for (const detach of detachers) detach();
    };
  }

  async function watch(connection: NatsConnection): Promise<void> {
    await connection.closed();
    if (closing || connection !== nc) return;
    await replace(connection, false).catch(() => undefined);
  }

  /**
   * One replacement at a time: a second caller (the old connection's watch,
   * once the replacement closes it) joins the first. After a drop the first
   * attempt waits `initialDelayMs`; asked for, it starts at once.
   */
  function replace(old: NatsConnection, immediately: boolean): Promise<void> {
    replacing ??= (async () => {
      detach();
      detach = () => undefined;
      await old.close().catch(() => undefined);
      let delay = options.initialDelayMs ?? 250;
      let lastError: Error = new Error("connection lost");
      for (let attempt = 0; attempt < (options.maxAttempts ?? 8) && !closing; attempt++) {
        if (attempt > 0 || !immediately) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
        }
        if (closing) return;
        try {
          const next = await options.connect();
          nc = next;
          detach = await attach(next);
          void watch(next);
          return;
        } catch (err) {
          lastError = err as Error;
          const final = err instanceof NatsAuthorizationError ? await options.onRefused?.(err) : undefined;
          if (final) {
            if (!closing) options.onGiveUp(final);
            throw final;
          }
        }
      }
      if (closing) return;
      options.onGiveUp(lastError);
      throw lastError;
    })().finally(() => {
      replacing = undefined;
    });
    return replacing;
  }
  void watch(nc);

  return {
    current: () => nc,
    reconnect: () => (closing ? Promise.resolve() : replace(nc, true)),
    async close() {
      closing = true;
      detach();
      await nc.close().catch(() => undefined);
    },
  };
}
