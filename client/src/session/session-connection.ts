import type { NatsConnection } from "@nats-io/nats-core";

/** Something the session keeps on whichever connection it has: subscriptions, and what it sends. */
export interface SessionChannel {
  /** Sets the channel up on a (new) connection; returns how to tear it down. */
  attach(nc: NatsConnection): () => void;
}

export interface SessionConnectionOptions {
  /** Opens a new connection; called again after every drop. */
  connect: () => Promise<NatsConnection>;
  /** Attached to every new connection, which is flushed before it is used. */
  channels: SessionChannel[];
  /** Called when reconnecting failed `maxAttempts` times in a row. */
  onGiveUp: (error: Error) => void;
  /** First retry delay in ms, doubled up to `maxDelayMs`; default 250. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Default 8. */
  maxAttempts?: number;
}

export interface SessionConnection {
  current(): NatsConnection;
  close(): Promise<void>;
}

/**
 * Owns the participant's NATS connection and replaces it when it drops (the
 * server closes it when the NATS user of an old token expires, or on network
 * loss), presenting the current token each time. nats.js's own reconnect is
 * not used: its transport is chosen process-wide, so in a process that also
 * opens TCP connections a WebSocket client would reconnect over TCP.
 */
export async function openSessionConnection(options: SessionConnectionOptions): Promise<SessionConnection> {
  let closing = false;
  let nc = await options.connect();
  let detach = await attach(nc);

  async function attach(connection: NatsConnection): Promise<() => void> {
    const detachers = options.channels.map((channel) => channel.attach(connection));
    // The server must know the subscriptions before anything is asked of it.
    await connection.flush();
    return () => detachers.forEach((d) => d());
  }

  async function watch(connection: NatsConnection): Promise<void> {
    await connection.closed();
    if (closing || connection !== nc) return;
    detach();
    let delay = options.initialDelayMs ?? 250;
    let lastError: Error = new Error("connection lost");
    for (let attempt = 0; attempt < (options.maxAttempts ?? 8) && !closing; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
      if (closing) return;
      try {
        const next = await options.connect();
        nc = next;
        detach = await attach(next);
        void watch(next);
        return;
      } catch (err) {
        lastError = err as Error;
      }
    }
    if (!closing) options.onGiveUp(lastError);
  }
  void watch(nc);

  return {
    current: () => nc,
    async close() {
      closing = true;
      detach();
      await nc.close().catch(() => undefined);
    },
  };
}
