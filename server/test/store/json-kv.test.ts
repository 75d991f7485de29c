import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJsonKv, isRevisionConflict, type JsonKv } from "../../src/store/json-kv.js";
import { startTestNats, type TestNats } from "../support/harness.js";

let nats: TestNats;
let kv: JsonKv<{ text: string }>;
beforeAll(async () => {
  nats = await startTestNats();
  const kvm = new Kvm(await nats.connect());
  kv = createJsonKv(await kvm.create("json-kv-test", { history: 1, maxValueSize: 256 }));
});
afterAll(() => nats?.stop());

const failure = (write: Promise<unknown>) =>
  write.then(
    () => undefined,
    (err: unknown) => err,
  );

describe("revision conflicts", () => {
  it("refuses an update at a revision that is no longer the latest, recognised by JetStream's code", async () => {
    const first = await kv.put("update", { text: "one" });
    await kv.update("update", { text: "two" }, first);
    const err = await failure(kv.update("update", { text: "stale" }, first));
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as JetStreamApiError).code).toBe(JetStreamApiCodes.StreamWrongLastSequence);
    expect(isRevisionConflict(err)).toBe(true);
    expect((await kv.get("update"))?.value).toEqual({ text: "two" });
  });

  it("refuses a create of a key that exists as a conflict", async () => {
    await kv.create("create", { text: "first" });
    const err = await failure(kv.create("create", { text: "second" }));
    expect(isRevisionConflict(err)).toBe(true);
    expect((await kv.get("create"))?.value).toEqual({ text: "first" });
  });

  it("does not take another refusal for a conflict, nor an error that only reads like one", async () => {
    const tooLarge = await failure(kv.put("large", { text: "x".repeat(1_000) }));
    expect(tooLarge).toBeInstanceOf(JetStreamApiError);
    expect(isRevisionConflict(tooLarge)).toBe(false);
    expect(isRevisionConflict(new Error("wrong last sequence: 4"))).toBe(false);
  });
});
