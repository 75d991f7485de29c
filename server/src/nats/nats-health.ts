import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";

/** Follows a NATS connection's status events: whether it is connected now. */
export interface ConnectionWatch {
  /** False from a disconnect until the reconnect, and once the connection is closed. */
  connected(): boolean;
}

/** Watches `nc` until it closes; a disconnect is seen as soon as the socket drops. */
export function watchConnection(nc: NatsConnection): ConnectionWatch {
  let up = !nc.isClosed();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "close") up = false;
      else if (status.type === "reconnect") up = true;
    }
    up = false;
  })().catch(() => {
    up = false;
  });
  return { connected: () => up && !nc.isClosed() };
}

/** The JetStream streams behind pnm's KV buckets (store/room-store.ts, store/nonce-store.ts). */
export const pnmKvStreams = [
  "KV_pnm-rooms",
  "KV_pnm-users",
  "KV_pnm-blocklist",
  "KV_pnm-seats",
  "KV_pnm-room-seats",
  "KV_pnm-nonces",
];

/**
 * Undefined when JetStream answers within `timeoutMs` and has every stream in
 * `required`; else why not, in a few words.
 */
export async function probeStreams(
  nc: NatsConnection,
  required: readonly string[],
  timeoutMs: number,
): Promise<string | undefined> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    const names = new Set<string>();
    for await (const name of jsm.streams.names()) names.add(name);
    const missing = required.filter((name) => !names.has(name));
    return missing.length > 0 ? `streams missing: ${missing.join(", ")}` : undefined;
  } catch (err) {
    return `JetStream did not answer: ${err instanceof Error ? err.message : String(err)}`;
  }
}
