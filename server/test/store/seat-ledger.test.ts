import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureInfo } from "../../src/errors.js";
import { createSeatLedger, type SeatLedger } from "../../src/rooms/seat-ledger.js";
import { emptyRoomSeats, evictUser, reserveSeat } from "../../src/rooms/seats.js";
import type { RoomRecord, UserSeat } from "../../src/store/records.js";
import { createRoomStore, type RoomStore, userKey } from "../../src/store/room-store.js";
import { startTestNats, type TestNats } from "../support/harness.js";

const timings = { pendingMs: 1_000, offlineAfterMs: 1_000 };
let nats: TestNats;
let store: RoomStore;
/** Another instance on the same NATS. */
let other: RoomStore;
let ledger: SeatLedger;
beforeAll(async () => {
  nats = await startTestNats();
  store = await createRoomStore({ nc: await nats.connect() });
  other = await createRoomStore({ nc: await nats.connect() });
  ledger = createSeatLedger({ store, timings });
});
afterAll(() => nats?.stop());

/** A room of `limit` seats whose count says `taken`, as another instance would have left it. */
async function roomOf(roomId: string, limit: number, taken: number): Promise<RoomRecord> {
  const room = {
    roomId,
    sid: `sid-${roomId}`,
    status: "active" as const,
    createdAt: 0,
    emptyTimeoutSeconds: 0,
    maxParticipants: limit,
    metadataJson: "{}",
    requestDigest: "",
  };
  await store.roomSeats.put(roomId, { ...emptyRoomSeats(room.sid), taken });
  return room;
}

const seat = (state: UserSeat["state"], ageMs: number, counted = 0): UserSeat => ({
  cid: 1,
  serverId: "s",
  state,
  at: Date.now() - ageMs,
  counted,
});
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => failureInfo(err).reason,
  );

describe("the room's count of seats", () => {
  it("refuses a full room whose seats are all live", async () => {
    const room = await roomOf("live", 1, 1);
    await store.seats.put(userKey("live", "a"), { sid: room.sid, seat: seat("connected", 60_000) });
    expect(await refusal(ledger.take(room))).toBe(FailureReason.ROOM_FULL);
    expect((await store.roomSeats.get("live"))!.value.taken).toBe(1);
  });

  it("counts out a seat whose connection never showed up, or stayed offline too long, when the room is full", async () => {
    const room = await roomOf("stale", 2, 2);
    await store.seats.put(userKey("stale", "never"), { sid: room.sid, seat: seat("pending", 5_000) });
    await store.seats.put(userKey("stale", "gone"), { sid: room.sid, seat: seat("disconnected", 5_000) });
    await ledger.take(room);
    expect((await store.roomSeats.get("stale"))!.value.taken).toBe(1);
    expect((await store.seats.get(userKey("stale", "never")))!.value.seat).toBeUndefined();
    expect((await store.seats.get(userKey("stale", "gone")))!.value.seat).toBeUndefined();
  });

  it("recounts a count left too high by an instance that stopped, and never subtracts a seat counted before", async () => {
    // Two seats counted, one given up by an instance that stopped before subtracting it: one live seat left.
    const room = await roomOf("leak", 2, 2);
    await store.seats.put(userKey("leak", "stays"), { sid: room.sid, seat: seat("connected", 0) });
    await ledger.take(room);
    const count = (await store.roomSeats.get("leak"))!.value;
    expect(count).toMatchObject({ taken: 2, epoch: 1 });
    // The seat counted under epoch 0 was counted again by the recount: giving it up leaves the count as it is.
    await ledger.giveBack("leak", room.sid, seat("connected", 0, 0));
    expect((await store.roomSeats.get("leak"))!.value.taken).toBe(2);
    await ledger.giveBack("leak", room.sid, seat("connected", 0, 1));
    expect((await store.roomSeats.get("leak"))!.value.taken).toBe(1);
  });

  it("admits exactly the limit of 40 concurrent takes, each seat written first as admission does", async () => {
    const room = await roomOf("race", 7, 0);
    const takeSeat = async (i: number) => {
      const held = seat("pending", 0);
      await store.seats.put(userKey("race", `u${i}`), { sid: room.sid, seat: held });
      return refusal(
        ledger.take(room).catch(async (err: unknown) => {
          await ledger.putBack(room, `u${i}`, held, { sid: room.sid });
          throw err;
        }),
      );
    };
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => takeSeat(i)));
    expect(outcomes.filter((reason) => reason === undefined)).toHaveLength(7);
    expect(outcomes.filter((reason) => reason === FailureReason.ROOM_FULL)).toHaveLength(33);
    expect((await store.roomSeats.get("race"))!.value.taken).toBe(7);
  });

  it("refuses every take once the room is closed", async () => {
    const room = await roomOf("closed", 0, 0);
    await store.roomSeats.put("closed", { ...emptyRoomSeats(room.sid), closed: true });
    expect(await refusal(ledger.take({ ...room, maxParticipants: 5 }))).toBe(FailureReason.ROOM_NOT_ACTIVE);
  });

  it("puts a refused seat back, and evens out the count when a removal took that seat meanwhile", async () => {
    const room = await roomOf("undo", 1, 1);
    const held = seat("pending", 0);
    await store.seats.put(userKey("undo", "u"), { sid: room.sid, seat: held });
    const before = { sid: room.sid, seat: seat("disconnected", 10) };
    await ledger.putBack(room, "u", held, before);
    expect((await store.seats.get(userKey("undo", "u")))!.value).toEqual(before);
    // A removal took the seat and subtracted it, though it was never counted: the count gets it back.
    await store.seats.put(userKey("undo", "v"), { sid: room.sid, revokedAt: 1 });
    await store.roomSeats.put("undo", { ...emptyRoomSeats(room.sid), taken: 0 });
    await ledger.putBack(room, "v", held, { sid: room.sid });
    expect((await store.roomSeats.get("undo"))!.value.taken).toBe(1);
  });

  it("never leaves a removed user seated when the removal races its admission on another instance", async () => {
    const sid = "sid-racing";
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const key = userKey("racing", `u${i}`);
        const request = { sid, issuedAt: Date.now(), cid: i, serverId: "s", epoch: undefined, now: Date.now() };
        const [admitted] = await Promise.all([
          refusal(store.modify(store.seats, key, (current) => reserveSeat(current?.value, request, timings).record)),
          other.modify(other.seats, key, (current) => evictUser(current?.value, sid, Date.now() + 1).record),
        ]);
        return { admitted, record: (await store.seats.get(key))!.value };
      }),
    );
    for (const { admitted, record } of outcomes) {
      // Admitted first and evicted, or refused as removed: either way no seat is left.
      expect([undefined, FailureReason.USER_NOT_FOUND]).toContain(admitted);
      expect(record.seat).toBeUndefined();
      expect(record.revokedAt).toBeGreaterThan(0);
    }
  });
});
