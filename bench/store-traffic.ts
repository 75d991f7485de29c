import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";

/** The sum of `pnm_store_operations_total` over the given pnm `/metrics` URLs: KV round trips so far. */
export async function storeOperations(metricsUrls: string[]): Promise<number> {
  const texts = await Promise.all(metricsUrls.map(async (url) => (await fetch(url)).text()));
  let total = 0;
  for (const text of texts)
    for (const line of text.split("\n"))
      if (line.startsWith("pnm_store_operations_total{")) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  return total;
}

/** The store's buckets, whatever keys a room has in each. */
const buckets = ["pnm-rooms", "pnm-users", "pnm-blocklist", "pnm-seats", "pnm-room-seats"];

/** Per bucket, how many keys the room has there and the size of its largest value, in bytes. */
export interface RoomKeySizes {
  bucket: string;
  keys: number;
  largestBytes: number;
}

/**
 * Reads every key of `roomId` (the key itself and `<roomId>.>`) in each
 * store bucket, from the KV as it is, so that the figures do not depend on
 * how the store lays a room out.
 */
export async function roomKeySizes(nc: NatsConnection, roomId: string): Promise<RoomKeySizes[]> {
  const kvm = new Kvm(nc);
  return Promise.all(
    buckets.map(async (bucket) => {
      const kv = await kvm.open(bucket);
      let keys = 0;
      let largestBytes = 0;
      for (const filter of [roomId, `${roomId}.>`]) {
        for await (const key of await kv.keys(filter)) {
          const entry = await kv.get(key);
          if (entry?.operation !== "PUT") continue;
          keys++;
          largestBytes = Math.max(largestBytes, entry.value.length);
        }
      }
      return { bucket, keys, largestBytes };
    }),
  );
}
