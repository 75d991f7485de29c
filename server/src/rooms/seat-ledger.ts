import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import type { ServerLiveness } from "../nats/server-liveness.js";
import { isRevisionConflict } from "../store/json-kv.js";
import type { RoomRecord, RoomSeatsRecord, UserSeat, UserSeatsRecord } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { assertRoomOpen, emptyRoomSeats, isSeatLive, restore, type SeatTimings, updateSeat } from "./seats.js";

/** The room's count of seats, kept against its limit across instances. */
export interface SeatLedger {
  /**
   * The epoch to count a new seat of the room under (from the watched
   * count: a stale one only means the seat is never subtracted, never that
   * it is subtracted twice); undefined when the room has no limit.
   */
  epoch(room: RoomRecord): number | undefined;
  /**
   * Adds a seat written already to the room's count by compare-and-set, or
   * throws ROOM_FULL (after counting out seats no longer live) or
   * ROOM_NOT_ACTIVE. The seat is written first so that a recount, which
   * reads the count before the seats, finds every seat counted.
   */
  take(room: RoomRecord): Promise<void>;
  /** Subtracts a seat given up, when it was counted under the count's epoch. */
  giveBack(roomId: string, sid: string, seat: UserSeat | undefined): Promise<void>;
  /**
   * Undoes a seat written to the user's record whose count `take` refused:
   * puts back what the record held `before`, while it still holds that seat.
   * When the seat is gone already, a removal (or the waiting room) took it
   * and subtracted it from the count it was never added to: it is added
   * back, without the limit, to even out.
   */
  putBack(room: RoomRecord, userId: string, seat: UserSeat, before: UserSeatsRecord): Promise<void>;
  /**
   * Whether a new seat would find the room full now, on the count after a
   * recount (VerifyToken's early answer; admission decides on the count).
   */
  isFull(room: RoomRecord): Promise<boolean>;
  /** Every user seat record of the room instance, freshly read: a listing of the room's keys, then a get of each. */
  list(roomId: string, sid: string): Promise<[userId: string, record: UserSeatsRecord][]>;
  /**
   * Whether the nats-server of a connected (or pending) seat has gone (see `liveness`): the
   * seat is then marked disconnected from now, so that it is the user's for a
   * reconnect through another server for as long as any drop, and stops
   * counting after that. False, and nothing written, while the server is there.
   */
  releaseIfServerGone(room: RoomRecord, userId: string, seat: UserSeat): Promise<boolean>;
}

export interface SeatLedgerOptions {
  /** The user seat records and the rooms' counts. */
  store: RoomStore;
  /** How long seats not connected still count. */
  timings: SeatTimings;
  /** The clock, in Unix ms; default Date.now. */
  now?: () => number;
  /** How often a full room's seats are recounted at most, in ms; default 1000. */
  recountEveryMs?: number;
  /**
   * Tells which nats-servers have gone. A server killed outright sends no
   * DISCONNECT for its clients, so without it their seats stay connected, and
   * counted, until the room ends.
   */
  liveness?: ServerLiveness;
}

export function createSeatLedger(options: SeatLedgerOptions): SeatLedger {
  const { store, timings } = options;
  const now = options.now ?? Date.now;
  const recountEveryMs = options.recountEveryMs ?? 1_000;

  async function list(roomId: string, sid: string): Promise<[string, UserSeatsRecord][]> {
    const prefix = `${roomId}.`;
    const keys = await store.seats.keys(`${prefix}*`);
    const entries = await Promise.all(keys.map((key) => store.seats.get(key)));
    return entries.flatMap((entry, i) =>
      entry?.value.sid === sid ? [[keys[i]!.slice(prefix.length), entry.value] as [string, UserSeatsRecord]] : [],
    );
  }

  /** Moves the count by `by` for a seat counted under its epoch; nothing for one counted under an earlier one. */
  async function shift(roomId: string, sid: string, seat: UserSeat | undefined, by: 1 | -1): Promise<void> {
    if (seat?.counted === undefined) return;
    await store.modify(store.roomSeats, roomId, (current) =>
      current?.value.sid === sid && current.value.epoch === seat.counted && current.value.taken + by >= 0
        ? { ...current.value, taken: current.value.taken + by }
        : undefined,
    );
  }
  const giveBack = (roomId: string, sid: string, seat: UserSeat | undefined) => shift(roomId, sid, seat, -1);

  /**
   * Counts out the seats of a full room that are no longer live, each one as
   * presence does once offline: its record first, then the count. When none
   * was, but the count says more than the live seats (a seat given up by an
   * instance that stopped before subtracting it), the count is set to them
   * under a new epoch: read before the seats and written at that revision,
   * so a seat taken meanwhile (written before it is counted) fails the write
   * or is among those found.
   */
  async function recount(room: RoomRecord): Promise<void> {
    let freedAny = false;
    const records = await list(room.roomId, room.sid);
    await releaseOnGoneServers(room, records);
    for (const [userId, record] of records) {
      if (record.seat && !isSeatLive(record.seat, now(), timings))
        freedAny = (await freeExpired(room, userId)) || freedAny;
    }
    if (freedAny) return;
    const count = await store.roomSeats.get(room.roomId);
    if (count?.value.sid !== room.sid) return;
    const at = now();
    const live = (await list(room.roomId, room.sid)).filter(
      ([, record]) => record.seat && isSeatLive(record.seat, at, timings),
    ).length;
    if (count.value.taken <= live) return;
    try {
      const next = { ...count.value, taken: live, epoch: count.value.epoch + 1 };
      store.watched.roomSeats.learn(room.roomId, {
        value: next,
        revision: await store.roomSeats.update(room.roomId, next, count.revision),
      });
    } catch (err) {
      // Another writer changed the count meanwhile: the admission that asked is refused, the next one recounts.
      if (!isRevisionConflict(err)) throw err;
    }
  }

  /** Marks the seats held through nats-servers that have gone as disconnected (releaseIfServerGone). */
  async function releaseOnGoneServers(room: RoomRecord, records: [string, UserSeatsRecord][]): Promise<void> {
    const connected = records.filter(([, record]) => record.seat && isOnServer(record.seat));
    if (!options.liveness || connected.length === 0) return;
    const gone = await options.liveness.goneServers(connected.map(([, record]) => record.seat!.serverId));
    for (const [userId, record] of connected)
      if (gone.has(record.seat!.serverId)) await markDropped(room, userId, record.seat!);
  }

  /** The seat of this exact connection, marked disconnected from now; true when it was written. */
  async function markDropped(room: RoomRecord, userId: string, seat: UserSeat): Promise<boolean> {
    const changed = await store.modify(store.seats, userKey(room.roomId, userId), (current) =>
      current?.value.sid === room.sid
        ? updateSeat(current.value, seat.cid, seat.serverId, "disconnected", now(), timings)
        : undefined,
    );
    return (
      changed?.seat?.state === "disconnected" &&
      changed.seat.cid === seat.cid &&
      changed.seat.serverId === seat.serverId
    );
  }

  /** Takes a seat that is no longer live out of its user's record, then out of the count. */
  async function freeExpired(room: RoomRecord, userId: string): Promise<boolean> {
    let freed: UserSeat | undefined;
    await store.modify(store.seats, userKey(room.roomId, userId), (current) => {
      freed = undefined; // a retried compare-and-set decides again
      const held = current?.value.seat;
      if (current?.value.sid !== room.sid || !held || isSeatLive(held, now(), timings)) return undefined;
      const { seat: _expired, ...rest } = current.value;
      freed = held;
      return rest;
    });
    await giveBack(room.roomId, room.sid, freed);
    return freed !== undefined;
  }

  /**
   * A recount reads every seat of the room: the refusals of a full room
   * share one, started at most once per `recountEveryMs`, instead of each
   * reading them all. A refusal on a count a little old is still a count that
   * never says fewer seats than are live.
   */
  const recounts = new Map<string, { at: number; done: Promise<void> }>();
  function recountOften(room: RoomRecord): Promise<void> {
    const key = `${room.roomId} ${room.sid}`;
    const last = recounts.get(key);
    if (last && now() - last.at < recountEveryMs) return last.done;
    for (const [k, old] of recounts) if (now() - old.at >= recountEveryMs) recounts.delete(k);
    // A recount that fails (NATS busy electing a leader, say) leaves the count as it was, never lower than
    // the live seats: each of its writes is a compare-and-set of its own. The asker is refused on that count.
    const done = recount(room).catch(() => undefined);
    recounts.set(key, { at: now(), done });
    return done;
  }

  const addOne = (room: RoomRecord) =>
    store.modify(store.roomSeats, room.roomId, (current) => {
      const count = current?.value.sid === room.sid ? current.value : emptyRoomSeats(room.sid);
      assertRoomOpen(count, room.sid);
      if (count.taken >= room.maxParticipants) throw new Full();
      return { ...count, taken: count.taken + 1 };
    });

  return {
    epoch(room) {
      if (room.maxParticipants <= 0) return undefined;
      const count = store.watched.roomSeats.latest(room.roomId)?.value;
      return count?.sid === room.sid ? count.epoch : 0;
    },
    async take(room) {
      for (let attempt = 0; ; attempt++) {
        try {
          await addOne(room);
          return;
        } catch (err) {
          if (!(err instanceof Full)) throw err;
          if (attempt > 0) throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
          await recountOften(room);
        }
      }
    },
    giveBack,
    async putBack(room, userId, seat, before) {
      let gone = false;
      await store.modify(store.seats, userKey(room.roomId, userId), (current) => {
        gone = current?.value.sid === room.sid && current.value.seat === undefined;
        return restore(current?.value, seat, before);
      });
      if (gone) await shift(room.roomId, room.sid, seat, 1);
    },
    async isFull(room) {
      if (room.maxParticipants <= 0) return false;
      const full = (count: RoomSeatsRecord | undefined) =>
        count?.sid === room.sid && count.taken >= room.maxParticipants;
      if (!full((await store.watched.roomSeats.get(room.roomId))?.value)) return false;
      // A room full by its count may hold seats no longer live: the refusals are made on a recounted count.
      await recountOften(room);
      return full((await store.roomSeats.get(room.roomId))?.value);
    },
    list,
    async releaseIfServerGone(room, userId, seat) {
      if (!options.liveness || !isOnServer(seat)) return false;
      if (!(await options.liveness.goneServers([seat.serverId])).has(seat.serverId)) return false;
      return markDropped(room, userId, seat);
    },
  };
}

/** A seat whose connection is, or is about to be, on a nats-server: a reservation names none. */
const isOnServer = (seat: UserSeat) => seat.state === "connected" || seat.state === "pending";

/** The count is at the limit: recount, then refuse. */
class Full extends Error {
  override readonly name = "Full";
}
