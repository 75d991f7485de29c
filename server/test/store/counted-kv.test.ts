import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countedKv, type KvOperation } from "../../src/store/counted-kv.js";
import { createJsonKv, type JsonKv } from "../../src/store/json-kv.js";
import { startTestNats, type TestNats } from "../support/harness.js";

let nats: TestNats;
let kv: JsonKv<{ n: number }>;
const counted: KvOperation[] = [];
beforeAll(async () => {
  nats = await startTestNats();
  const bucket = await new Kvm(await nats.connect()).create("counted-test", { history: 1 });
  kv = countedKv(createJsonKv(bucket), (operation) => counted.push(operation));
});
afterAll(() => nats?.stop());

describe("counted KV", () => {
  it("counts each round trip once, failed ones too, and passes every answer through", async () => {
    const revision = await kv.create("k", { n: 1 });
    await expect(kv.create("k", { n: 2 })).rejects.toThrow();
    expect((await kv.get("k"))?.value).toEqual({ n: 1 });
    await kv.update("k", { n: 3 }, revision);
    await kv.put("other", { n: 4 });
    expect((await kv.keys()).sort()).toEqual(["k", "other"]);
    await kv.delete("other");
    expect(await kv.get("other")).toBeUndefined();
    expect(counted).toEqual(["create", "create", "get", "update", "put", "keys", "delete", "get"]);
  });
});
