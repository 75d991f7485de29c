import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNonceStore } from "../../src/store/nonce-store.js";
import { startTestNats, type TestNats } from "../support/harness.js";

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats?.stop());

describe("the nonce store (NATS KV)", () => {
  it("lets a nonce be claimed once, across instances on one NATS", async () => {
    // Two connections stand for two pnm instances sharing the bucket.
    const [a, b] = await Promise.all([
      createNonceStore({ nc: await nats.connect(), ttlMs: 60_000 }),
      createNonceStore({ nc: await nats.connect(), ttlMs: 60_000 }),
    ]);
    expect(await a.claim("nonce-shared-0000001")).toBe(true);
    expect(await a.claim("nonce-shared-0000001")).toBe(false);
    expect(await b.claim("nonce-shared-0000001")).toBe(false);
    expect(await b.claim("nonce-shared-0000002")).toBe(true);
  });

  it("grants exactly one of many simultaneous claims of one nonce", async () => {
    const stores = await Promise.all(
      [1, 2, 3].map(async () => createNonceStore({ nc: await nats.connect(), ttlMs: 60_000 })),
    );
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stores[i % 3]!.claim("nonce-raced-00000001")),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it("keeps the longer memory when an instance with a longer window opens a bucket made with a shorter one", async () => {
    const nc = await nats.connect();
    await createNonceStore({ nc, ttlMs: 60_000 });
    await createNonceStore({ nc, ttlMs: 600_000 });
    expect((await (await new Kvm(nc).open("pnm-nonces")).status()).ttl).toBe(600_000);
    await createNonceStore({ nc, ttlMs: 120_000 });
    expect((await (await new Kvm(nc).open("pnm-nonces")).status()).ttl).toBe(600_000);
  });
});

describe("the nonce store's expiry", () => {
  it("forgets a nonce after its time to live", async () => {
    const own = await startTestNats();
    try {
      const store = await createNonceStore({ nc: await own.connect(), ttlMs: 1_000 });
      expect(await store.claim("nonce-expiring-00001")).toBe(true);
      expect(await store.claim("nonce-expiring-00001")).toBe(false);
      const deadline = Date.now() + 10_000;
      let again = false;
      while (!again && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        again = await store.claim("nonce-expiring-00001");
      }
      expect(again).toBe(true);
    } finally {
      await own.stop();
    }
  }, 20_000);
});
