import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoomStore, type RoomStore } from "../src/store/room-store.js";
import type { SeatsRecord } from "../src/store/records.js";
import { startTestNats, type TestNats } from "./support/harness.js";

let nats: TestNats;
let stores: RoomStore[];
beforeAll(async () => {
  nats = await startTestNats();
  stores = await Promise.all([1, 2].map(async () => createRoomStore({ nc: await nats.connect() })));
});
afterAll(() => nats?.stop());

const addHolder = (id: string) => (current: { value: SeatsRecord } | undefined): SeatsRecord => {
  const value = current?.value ?? { holders: {}, revoked: {}, closed: false };
  return { ...value, holders: { ...value.holders, [id]: { cid: 1, serverId: "s", state: "connected", at: 0 } } };
};

describe("compare-and-set modify", () => {
  it("applies 200 concurrent changes from two instances without losing or failing any", async () => {
    const changes = Array.from({ length: 200 }, (_, i) => stores[i % 2]!.modify(stores[i % 2]!.seats, "crowd", addHolder(`u${i}`)));
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
