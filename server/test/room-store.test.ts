import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SeatsRecord } from "../src/store/records.js";
import { createRoomStore, type RoomStore } from "../src/store/room-store.js";
import { startTestNats, type TestNats } from "./support/harness.js";

let nats: TestNats;
let stores: RoomStore[];
beforeAll(async () => {
  nats = await startTestNats();
  stores = await Promise.all([1, 2].map(async () => createRoomStore({ nc: await nats.connect() })));
});
afterAll(() => nats?.stop());

const addHolder =
  (id: string) =>
  (current: { value: SeatsRecord } | undefined): SeatsRecord => {
    const value = current?.value ?? { holders: {}, revoked: {}, closed: false };
    return { ...value, holders: { ...value.holders, [id]: { cid: 1, serverId: "s", state: "connected", at: 0 } } };
  };

describe("compare-and-set modify", () => {
  it("applies 200 concurrent changes from two instances without losing or failing any", async () => {
    const changes = Array.from({ length: 200 }, (_, i) =>
      stores[i % 2]!.modify(stores[i % 2]!.seats, "crowd", addHolder(`u${i}`)),
    );
    await Promise.all(changes);
    const record = (await stores[0]!.seats.get("crowd"))!.value;
    expect(Object.keys(record.holders)).toHaveLength(200);
  });

  it("refuses only the caller whose change throws", async () => {
    const store = stores[0]!;
    const results = await Promise.allSettled([
      store.modify(store.seats, "mixed", addHolder("a")),
      store.modify(store.seats, "mixed", () => {
        throw new Error("refused");
      }),
      store.modify(store.seats, "mixed", addHolder("b")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(Object.keys((await store.seats.get("mixed"))!.value.holders).sort()).toEqual(["a", "b"]);
  });

  it("leaves the value alone when a change returns undefined, and resolves to it", async () => {
    const store = stores[1]!;
    await store.modify(store.seats, "quiet", addHolder("q"));
    const before = (await store.seats.get("quiet"))!.revision;
    const value = await store.modify(store.seats, "quiet", () => undefined);
    expect(Object.keys(value!.holders)).toEqual(["q"]);
    expect((await store.seats.get("quiet"))!.revision).toBe(before);
  });
});

describe("the last-known value", () => {
  it("never loses another instance's write, whatever this instance saw last", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.seats, "stale", addHolder("from-a"));
    await b.modify(b.seats, "stale", addHolder("from-b"));
    // a last saw only its own write; its next change must still build on b's.
    await a.modify(a.seats, "stale", addHolder("from-a-again"));
    expect(Object.keys((await b.seats.get("stale"))!.value.holders).sort()).toEqual([
      "from-a",
      "from-a-again",
      "from-b",
    ]);
  });

  it("re-reads before deciding that nothing needs writing", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.seats, "decide", addHolder("x"));
    await b.modify(b.seats, "decide", (current) => ({ ...current!.value, closed: true }));
    // On a's stale copy the room is open; the answer must come from the latest value.
    const seen = await a.modify(a.seats, "decide", (current) =>
      current!.value.closed ? undefined : { ...current!.value, holders: {} },
    );
    expect(seen!.closed).toBe(true);
    expect(Object.keys((await a.seats.get("decide"))!.value.holders)).toEqual(["x"]);
  });

  it("does not skip a write because of a stale copy", async () => {
    const [a, b] = [stores[0]!, stores[1]!];
    await a.modify(a.seats, "reopened", (current) => ({
      ...(current?.value ?? { holders: {}, revoked: {} }),
      closed: true,
    }));
    await b.modify(b.seats, "reopened", (current) => ({ ...current!.value, closed: false }));
    // a's copy still says closed; the room is open again, so the holder must be added.
    await a.modify(a.seats, "reopened", (current) => (current!.value.closed ? undefined : addHolder("y")(current)));
    expect(Object.keys((await b.seats.get("reopened"))!.value.holders)).toEqual(["y"]);
  });
});
