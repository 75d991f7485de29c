import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyRoomSeats } from "../src/rooms/seats.js";
import type { RoomSeatsRecord } from "../src/store/records.js";
import { createRoomStore, type RoomStore } from "../src/store/room-store.js";
import { startTestNats, type TestNats } from "./support/harness.js";

let nats: TestNats;
let stores: RoomStore[];
beforeAll(async () => {
  nats = await startTestNats();
  stores = await Promise.all([1, 2].map(async () => createRoomStore({ nc: await nats.connect() })));
});
afterAll(() => nats?.stop());

/** Counts one seat more: a change that every writer must build on, or a seat is lost. */
const addSeat = (current: { value: RoomSeatsRecord } | undefined): RoomSeatsRecord => {
  const value = current?.value ?? emptyRoomSeats("sid");
  return { ...value, taken: value.taken + 1 };
};

describe("compare-and-set modify", () => {
  it("applies 200 concurrent changes from two instances without losing or failing any", async () => {
    const changes = Array.from({ length: 200 }, (_, i) =>
      stores[i % 2]!.modify(stores[i % 2]!.roomSeats, "crowd", addSeat),
    );
    await Promise.all(changes);
    expect((await stores[0]!.roomSeats.get("crowd"))!.value.taken).toBe(200);
  });

  it("refuses only the caller whose change throws", async () => {
    const store = stores[0]!;
    const results = await Promise.allSettled([
      store.modify(store.roomSeats, "mixed", addSeat),
      store.modify(store.roomSeats, "mixed", () => {
        throw new Error("refused");
      }),
      store.modify(store.roomSeats, "mixed", addSeat),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((await store.roomSeats.get("mixed"))!.value.taken).toBe(2);
  });

  it("leaves the value alone when a change returns undefined, and resolves to it", async () => {
    const store = stores[1]!;
    await store.modify(store.roomSeats, "quiet", addSeat);
    const before = (await store.roomSeats.get("quiet"))!.revision;
    const value = await store.modify(store.roomSeats, "quiet", () => undefined);
    expect(value!.taken).toBe(1);
    expect((await store.roomSeats.get("quiet"))!.revision).toBe(before);
  });
});

describe("the last-known value", () => {
  it("never loses another instance's write, whatever this instance saw last", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.roomSeats, "stale", addSeat);
    await b.modify(b.roomSeats, "stale", addSeat);
    // a last saw only its own write; its next change must still build on b's.
    await a.modify(a.roomSeats, "stale", addSeat);
    expect((await b.roomSeats.get("stale"))!.value.taken).toBe(3);
  });

  it("re-reads before deciding that nothing needs writing", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.roomSeats, "decide", addSeat);
    await b.modify(b.roomSeats, "decide", (current) => ({ ...current!.value, closed: true }));
    // On a's stale copy the room is open; the answer must come from the latest value.
    const seen = await a.modify(a.roomSeats, "decide", (current) =>
      current!.value.closed ? undefined : { ...current!.value, taken: 0 },
    );
    expect(seen!.closed).toBe(true);
    expect((await a.roomSeats.get("decide"))!.value.taken).toBe(1);
  });

  it("does not skip a write because of a stale copy", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.roomSeats, "reopened", (current) => ({
      ...(current?.value ?? emptyRoomSeats("sid")),
      closed: true,
    }));
    await b.modify(b.roomSeats, "reopened", (current) => ({ ...current!.value, closed: false }));
    // a's copy still says closed; the room is open again, so the seat must be counted.
    await a.modify(a.roomSeats, "reopened", (current) => (current!.value.closed ? undefined : addSeat(current)));
    expect((await b.roomSeats.get("reopened"))!.value.taken).toBe(1);
  });
});
