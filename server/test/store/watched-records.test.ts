import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonKv, type JsonKv } from "../../src/store/json-kv.js";
import { type WatchedRecords, watchRecords } from "../../src/store/watched-records.js";
import { startTestNats, type TestNats } from "../support/harness.js";
import { waitFor } from "../support/participants.js";

let nats: TestNats;
/** Another instance's view of the bucket: its writes reach the watched records only through the watch. */
let writer: JsonKv<{ n: number }>;
let reads: number;
let watched: WatchedRecords<{ n: number }>;
beforeAll(async () => {
  nats = await startTestNats();
  const bucket = await new Kvm(await nats.connect()).create("watched-test", { history: 1 });
  writer = createJsonKv(bucket);
  // Written before the watch starts: only a read can learn it.
  await writer.put("before", { n: 1 });
  const own = createJsonKv<{ n: number }>(await new Kvm(await nats.connect()).open("watched-test"));
  reads = 0;
  const counting: JsonKv<{ n: number }> = {
    ...own,
    get: (key) => {
      reads++;
      return own.get(key);
    },
  };
  watched = await watchRecords(await new Kvm(await nats.connect()).open("watched-test"), counting);
});
afterAll(() => nats?.stop());

describe("watched records", () => {
  it("reads a key it has not seen from the KV once, absent or not, then answers from memory", async () => {
    const start = reads;
    expect((await watched.get("before"))?.value).toEqual({ n: 1 });
    expect(await watched.get("missing")).toBeUndefined();
    expect((await watched.get("before"))?.value).toEqual({ n: 1 });
    expect(await watched.get("missing")).toBeUndefined();
    expect(reads - start).toBe(2);
  });

  it("follows another writer's creates, updates and deletes without reading", async () => {
    expect(await watched.get("followed")).toBeUndefined();
    const start = reads;
    const revision = await writer.create("followed", { n: 1 });
    await waitFor(async () => (await watched.get("followed"))?.revision === revision);
    await writer.update("followed", { n: 2 }, revision);
    await waitFor(async () => (await watched.get("followed"))?.value.n === 2);
    await writer.delete("followed");
    await waitFor(async () => (await watched.get("followed")) === undefined);
    expect(reads).toBe(start);
  });

  it("never lets an older answer replace a newer one", async () => {
    const first = await writer.put("raced", { n: 1 });
    // Read and watch race here: whichever lands last, the newest revision stays.
    const [read] = await Promise.all([watched.get("raced"), writer.put("raced", { n: 2 })]);
    expect(read!.revision).toBeGreaterThanOrEqual(first);
    await waitFor(async () => (await watched.get("raced"))?.value.n === 2);
    expect((await watched.get("raced"))?.value.n).toBe(2);
  });
});

describe("watched records held whole", () => {
  /** A bucket with `before` written (and `gone` deleted) before the watch, and its records held whole, counting reads. */
  async function wholeBucket(name: string, populate: boolean, limit?: number) {
    const kvm = new Kvm(await nats.connect());
    const writes = createJsonKv<{ n: number }>(await kvm.create(name, { history: 1 }));
    if (populate) {
      for (let i = 0; i < 20; i++) await writes.put(`before${i}`, { n: i });
      await writes.put("gone", { n: 0 });
      await writes.delete("gone");
    }
    const own = createJsonKv<{ n: number }>(await kvm.open(name));
    const counted = { reads: 0 };
    const records = await watchRecords(
      await kvm.open(name),
      {
        ...own,
        get: (key) => {
          counted.reads++;
          return own.get(key);
        },
      },
      { whole: true, limit },
    );
    return { writes, records, counted };
  }

  it("knows every key written before it started, and answers an unseen key as absent, without a read", async () => {
    const { records, counted } = await wholeBucket("whole-populated", true);
    for (let i = 0; i < 20; i++) expect((await records.get(`before${i}`))?.value).toEqual({ n: i });
    expect(await records.get("gone")).toBeUndefined();
    expect(await records.get("never-written")).toBeUndefined();
    expect(counted.reads).toBe(0);
  });

  it("starts on an empty bucket and follows another writer's keys, without a read", async () => {
    const { writes, records, counted } = await wholeBucket("whole-empty", false);
    expect(await records.get("later")).toBeUndefined();
    const revision = await writes.create("later", { n: 7 });
    await waitFor(async () => (await records.get("later"))?.revision === revision);
    await writes.delete("later");
    await waitFor(async () => (await records.get("later")) === undefined);
    expect(counted.reads).toBe(0);
  });

  it("reads every unseen key once a bucket outgrew its limit: a forgotten key is not taken as absent", async () => {
    const { records, counted } = await wholeBucket("whole-overflowed", true, 8);
    expect((await records.get("before0"))?.value).toEqual({ n: 0 });
    expect(await records.get("never-written")).toBeUndefined();
    expect(counted.reads).toBe(2);
  });
});
