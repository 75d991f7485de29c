import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { PnmMetrics } from "../metrics.js";
import { creatingWithReplicas, ensureStreamReplicas } from "../nats/replicas.js";
import { countedKv } from "./counted-kv.js";
import { createJsonKv, isRevisionConflict, type JsonKv, type Versioned } from "./json-kv.js";
import type { BlockRecord, RoomRecord, RoomSeatsRecord, UserRecord, UserSeatsRecord } from "./records.js";
import { type WatchedRecords, type WatchRecordsOptions, watchRecords } from "./watched-records.js";

/** The server's state in NATS KV, one bucket per record type, shared by every instance on that NATS. */
export interface RoomStore {
  /** Rooms by room ID. */
  rooms: JsonKv<RoomRecord>;
  /** Users by `userKey(roomId, userId)`. */
  users: JsonKv<UserRecord>;
  /** Blocked users by `userKey(roomId, userId)`. */
  blocklist: JsonKv<BlockRecord>;
  /** Each user's seat, waiting-room connection and revocation, by `userKey(roomId, userId)`. */
  seats: JsonKv<UserSeatsRecord>;
  /** Each room's count of seats and its close, by room ID. */
  roomSeats: JsonKv<RoomSeatsRecord>;
  /**
   * The rooms, users and blocklist as this process last saw them, kept up to
   * date by a watch of each bucket: reads that cost no round trip, for a
   * decision whose refusals are confirmed on a fresh read (see WatchedRecords).
   */
  watched: {
    rooms: WatchedRecords<RoomRecord>;
    users: WatchedRecords<UserRecord>;
    blocklist: WatchedRecords<BlockRecord>;
    seats: WatchedRecords<UserSeatsRecord>;
    roomSeats: WatchedRecords<RoomSeatsRecord>;
  };
  /**
   * Applies `change` to the key's latest value with compare-and-set, retrying
   * when another writer (here or on another instance) got there first. `kv`
   * is one of this store's buckets; the first try starts from the revision
   * the bucket's watch last saw, so it usually needs no read.
   * `change` returns undefined to leave the value as it is, and must not
   * mutate the value it is given. Resolves to the value after the change.
   */
  modify<T>(
    kv: JsonKv<T>,
    key: string,
    change: (current: Versioned<T> | undefined) => T | undefined,
  ): Promise<T | undefined>;
}

/** The key of a user's records: `<roomId>.<userId>`. */
export const userKey = (roomId: string, userId: string) => `${roomId}.${userId}`;

/** The NATS connection (with JetStream) to keep state in. */
export interface RoomStoreOptions {
  /** A connection to a NATS with JetStream enabled. */
  nc: NatsConnection;
  /** Replicas of each bucket (`PNM_NATS_REPLICAS`); existing buckets with fewer are raised to it. Default 1. */
  replicas?: number;
  /** Counts compare-and-set retries (`pnm_store_cas_retries_total`) and round trips (`pnm_store_operations_total`). */
  metrics?: PnmMetrics;
}

/** Opens the store's buckets (`pnm-rooms`, `-users`, `-blocklist`, `-seats`, `-room-seats`), creating those that are missing. */
export async function createRoomStore({ nc, replicas = 1, metrics }: RoomStoreOptions): Promise<RoomStore> {
  const kvm = new Kvm(nc);
  const jsm = await jetstreamManager(nc);
  const open = async <T>(name: string) => {
    const kv = await creatingWithReplicas(`bucket pnm-${name}`, replicas, () =>
      kvm.create(`pnm-${name}`, { history: 1, replicas }),
    );
    await ensureStreamReplicas(jsm, `KV_pnm-${name}`, replicas);
    const json = createJsonKv<T>(kv);
    return metrics ? countedKv(json, (operation) => metrics.storeOperations.inc({ bucket: name, operation })) : json;
  };
  /**
   * Each bucket is also followed by a watch (one round trip for the process's
   * life): admission reads the rooms, users and blocklist from it, and every
   * compare-and-set starts from the revision it last saw, whoever wrote it.
   */
  const openWatched = async <T>(name: string, options?: WatchRecordsOptions) => {
    const json = await open<T>(name);
    metrics?.storeOperations.inc({ bucket: name, operation: "watch" });
    return [json, await watchRecords(await kvm.open(`pnm-${name}`), json, options)] as const;
  };
  const [
    [rooms, watchedRooms],
    [users, watchedUsers],
    [blocklist, watchedBlocklist],
    [seats, watchedSeats],
    [roomSeats, watchedRoomSeats],
  ] = await Promise.all([
    openWatched<RoomRecord>("rooms"),
    openWatched<UserRecord>("users"),
    // Held whole: every new user is looked up in it, and blocks are few.
    openWatched<BlockRecord>("blocklist", { whole: true }),
    openWatched<UserSeatsRecord>("seats"),
    openWatched<RoomSeatsRecord>("room-seats"),
  ]);
  const bucketNames = new Map<JsonKv<unknown>, string>([
    [rooms, "rooms"],
    [users, "users"],
    [blocklist, "blocklist"],
    [seats, "seats"],
    [roomSeats, "room-seats"],
  ]);
  const queues = new Map<JsonKv<unknown>, Map<string, Waiter[]>>();
  const watchedOf = new Map<JsonKv<unknown>, WatchedRecords<unknown>>([
    [rooms, watchedRooms],
    [users, watchedUsers],
    [blocklist, watchedBlocklist],
    [seats, watchedSeats],
    [roomSeats, watchedRoomSeats],
  ] as [JsonKv<unknown>, WatchedRecords<unknown>][]);

  // All changes to one key that arrive while a write of that key is in flight
  // go into the next write together: each applies in turn to the latest value,
  // as if they had run in that order, and the batch is written with the usual
  // revision check, so a write by another instance fails it and the whole
  // batch runs again on fresh data. A change that throws refuses only its own
  // caller. Without this, fifty connects to one room race each other's
  // compare-and-set and most of them give up.
  async function commit(kv: JsonKv<unknown>, key: string, batch: Waiter[]): Promise<void> {
    const known = watchedOf.get(kv)!;
    for (let attempt = 0; ; attempt++) {
      // The first try starts from what this process last read, wrote or was
      // told by the watch, saving a get: a write at that revision succeeds
      // only if it is still the latest, and a batch that would write nothing
      // re-runs on a fresh get.
      let current = attempt === 0 ? known.latest(key) : undefined;
      const unverified = current !== undefined;
      try {
        current ??= await kv.get(key);
      } catch (error) {
        return rejectAll(batch, error);
      }
      known.learn(key, current);
      let value = current?.value;
      let changed = false;
      const outcomes = batch.map((waiter) => {
        try {
          const next = waiter.change(value === undefined ? undefined : { value, revision: current!.revision });
          if (next !== undefined) [value, changed] = [next, true];
          return { value };
        } catch (error) {
          return { error };
        }
      });
      if (!changed && unverified) continue;
      try {
        if (changed) {
          const revision = current ? await kv.update(key, value, current.revision) : await kv.create(key, value);
          known.learn(key, { value, revision });
        }
        for (const [i, outcome] of outcomes.entries()) {
          if ("error" in outcome) batch[i]!.reject(outcome.error);
          else batch[i]!.resolve(outcome.value);
        }
        return;
      } catch (error) {
        if (!isRevisionConflict(error) || attempt >= 50) return rejectAll(batch, error);
        metrics?.casRetries.inc({ bucket: bucketNames.get(kv) ?? "other" });
      }
    }
  }

  function rejectAll(batch: Waiter[], error: unknown): void {
    for (const waiter of batch) waiter.reject(error);
  }

  async function drain(kv: JsonKv<unknown>, key: string, queue: Waiter[]): Promise<void> {
    while (queue.length > 0) await commit(kv, key, queue.splice(0));
    queues.get(kv)!.delete(key);
  }

  return {
    rooms,
    users,
    blocklist,
    seats,
    roomSeats,
    watched: {
      rooms: watchedRooms,
      users: watchedUsers,
      blocklist: watchedBlocklist,
      seats: watchedSeats,
      roomSeats: watchedRoomSeats,
    },
    modify<T>(
      kv: JsonKv<T>,
      key: string,
      change: (current: Versioned<T> | undefined) => T | undefined,
    ): Promise<T | undefined> {
      const untyped = kv as JsonKv<unknown>;
      const keys = queues.get(untyped) ?? queues.set(untyped, new Map()).get(untyped)!;
      return new Promise<T | undefined>((resolve, reject) => {
        const waiter: Waiter = { change: change as Waiter["change"], resolve: resolve as Waiter["resolve"], reject };
        const queued = keys.get(key);
        if (queued) return void queued.push(waiter);
        const queue = [waiter];
        keys.set(key, queue);
        void drain(untyped, key, queue);
      });
    },
  };
}

interface Waiter {
  change: (current: Versioned<unknown> | undefined) => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}
