import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { createJsonKv, isRevisionConflict, type JsonKv, type Versioned } from "./json-kv.js";
import type { BlockRecord, RoomRecord, SeatsRecord, UserRecord } from "./records.js";

export interface RoomStore {
  rooms: JsonKv<RoomRecord>;
  users: JsonKv<UserRecord>;
  blocklist: JsonKv<BlockRecord>;
  seats: JsonKv<SeatsRecord>;
  /**
   * Applies `change` to the key's latest value with compare-and-set, retrying
   * when another writer (here or on another instance) got there first.
   * `change` returns undefined to leave the value as it is.
   */
  modify<T>(kv: JsonKv<T>, key: string, change: (current: Versioned<T> | undefined) => T | undefined): Promise<T | undefined>;
}

export const userKey = (roomId: string, userId: string) => `${roomId}.${userId}`;

export interface RoomStoreOptions {
  nc: NatsConnection;
  /** Bucket name prefix, so that several deployments can share one NATS. */
  prefix?: string;
}

export async function createRoomStore({ nc, prefix = "pnm" }: RoomStoreOptions): Promise<RoomStore> {
  const kvm = new Kvm(nc);
  const open = async <T>(name: string) => createJsonKv<T>(await kvm.create(`${prefix}-${name}`, { history: 1 }));
  const [rooms, users, blocklist, seats] = await Promise.all([
    open<RoomRecord>("rooms"),
    open<UserRecord>("users"),
    open<BlockRecord>("blocklist"),
    open<SeatsRecord>("seats"),
  ]);
  return {
    rooms,
    users,
    blocklist,
    seats,
    async modify(kv, key, change) {
      for (let attempt = 0; ; attempt++) {
        const current = await kv.get(key);
        const next = change(current);
        if (next === undefined) return current?.value;
        try {
          if (current) await kv.update(key, next, current.revision);
          else await kv.create(key, next);
          return next;
        } catch (err) {
          if (!isRevisionConflict(err) || attempt >= 50) throw err;
        }
      }
    },
  };
}
