import { createHmac } from "node:crypto";
import { signV2 } from "@pnm/client/protocol";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";
import { createApiKeyring } from "../../src/auth/api-keyring.js";
import { createApiSignatureVerifier, type SignatureMode } from "../../src/auth/api-signature.js";
import { failureInfo } from "../../src/errors.js";
import type { NonceStore } from "../../src/store/nonce-store.js";
import { createMemoryNonceStore } from "../../src/testing/memory-nonce-store.js";

// PNM-SIGNATURE (v2) as the server checks it, with a fixed clock and nonces in
// memory; what a caller sees on the wire is in conformance/cases/auth.yaml.
const nowSeconds = 1_700_000_000;
const pairs = [
  { key: "old-key", secret: "old-secret-0123456789abcdef0123456789" },
  { key: "new-key", secret: "new-secret-0123456789abcdef0123456789" },
];
const body = new TextEncoder().encode('{"room_id":"room01"}');
const route = { method: "POST", path: "/auth/room/endRoom" };

const sign = (secret: string, overrides: Partial<{ path: string; timestamp: number; nonce: string }> = {}) =>
  signV2(secret, { ...route, timestamp: nowSeconds, nonce: "nonce-0123456789abcdef", message: body, ...overrides });

async function check(
  headers: Record<string, string>,
  options: { nonces?: NonceStore; mode?: SignatureMode; path?: string } = {},
): Promise<FailureReason | "ok"> {
  const verifier = createApiSignatureVerifier({
    keys: createApiKeyring(pairs),
    nonces: options.nonces ?? createMemoryNonceStore(),
    mode: options.mode,
    now: () => nowSeconds * 1000,
  });
  try {
    const run = verifier.begin((name) => headers[name], { ...route, path: options.path ?? route.path });
    run.update(body);
    await run.finish();
    return "ok";
  } catch (err) {
    return failureInfo(err).reason;
  }
}

/** A nonce store that fails the test if it is asked at all. */
const untouchable: NonceStore = {
  claim: () => {
    throw new Error("the nonce store was consulted");
  },
};

describe("PNM-SIGNATURE (signature v2)", () => {
  it("accepts the client SDK's signature and claims its nonce once", async () => {
    const nonces = createMemoryNonceStore();
    const headers = { "api-key": "new-key", "pnm-signature": await sign(pairs[1]!.secret) };
    expect(await check(headers, { nonces })).toBe("ok");
    expect([...nonces.claimed]).toEqual(["nonce-0123456789abcdef"]);
    expect(await check(headers, { nonces })).toBe(FailureReason.SIGNATURE_REPLAYED);
  });

  it("lets API-KEY select the secret: each active key with its own, not with another's", async () => {
    expect(await check({ "api-key": "old-key", "pnm-signature": await sign(pairs[0]!.secret) })).toBe("ok");
    expect(await check({ "api-key": "new-key", "pnm-signature": await sign(pairs[0]!.secret) })).toBe(
      FailureReason.SIGNATURE_INVALID,
    );
    expect(await check({ "api-key": "gone-key", "pnm-signature": await sign(pairs[0]!.secret) })).toBe(
      FailureReason.API_KEY_INVALID,
    );
  });

  it("accepts a timestamp up to the window away, either way, and refuses one further", async () => {
    for (const [offset, outcome] of [
      [-300, "ok"],
      [300, "ok"],
      [-301, FailureReason.SIGNATURE_EXPIRED],
      [301, FailureReason.SIGNATURE_EXPIRED],
    ] as const) {
      const header = await sign(pairs[1]!.secret, { timestamp: nowSeconds + offset });
      expect(await check({ "api-key": "new-key", "pnm-signature": header }), `offset ${offset}`).toBe(outcome);
    }
  });

  it("refuses a stale timestamp from the headers alone, before the body is read", async () => {
    const verifier = createApiSignatureVerifier({
      keys: createApiKeyring(pairs),
      nonces: untouchable,
      now: () => nowSeconds * 1000,
    });
    const header = await sign(pairs[1]!.secret, { timestamp: nowSeconds - 3600 });
    let refused: unknown;
    try {
      verifier.begin((name) => ({ "api-key": "new-key", "pnm-signature": header })[name], route);
    } catch (err) {
      refused = err;
    }
    expect(failureInfo(refused).reason).toBe(FailureReason.SIGNATURE_EXPIRED);
  });

  // The cheap checks run first, so a forger without the secret cannot fill the nonce store.
  it.each([
    [
      "an unknown key",
      async () => ({ "api-key": "nobody", "pnm-signature": await sign(pairs[1]!.secret) }),
      FailureReason.API_KEY_INVALID,
    ],
    [
      "a stale timestamp",
      async () => ({
        "api-key": "new-key",
        "pnm-signature": await sign(pairs[1]!.secret, { timestamp: nowSeconds - 301 }),
      }),
      FailureReason.SIGNATURE_EXPIRED,
    ],
    [
      "another secret's MAC",
      async () => ({ "api-key": "new-key", "pnm-signature": await sign("not-the-secret-0123456789abcdef012345") }),
      FailureReason.SIGNATURE_INVALID,
    ],
    [
      "another route's signature",
      async () => ({
        "api-key": "new-key",
        "pnm-signature": await sign(pairs[1]!.secret, { path: "/auth/room/isRoomActive" }),
      }),
      FailureReason.SIGNATURE_INVALID,
    ],
    [
      "a malformed value",
      async () => ({ "api-key": "new-key", "pnm-signature": "v2;ts=1;nonce=short;sig=00" }),
      FailureReason.SIGNATURE_INVALID,
    ],
  ])("refuses %s without consulting the nonce store", async (_name, headers, reason) => {
    expect(await check(await headers(), { nonces: untouchable })).toBe(reason);
  });

  it("checks a request carrying both headers by PNM-SIGNATURE alone", async () => {
    const v1 = createHmac("sha256", pairs[1]!.secret).update(body).digest("hex");
    const valid = await sign(pairs[1]!.secret);
    const broken = valid.slice(0, -1) + (valid.endsWith("0") ? "1" : "0");
    expect(await check({ "api-key": "new-key", "hash-signature": v1 })).toBe("ok");
    expect(await check({ "api-key": "new-key", "hash-signature": v1, "pnm-signature": broken })).toBe(
      FailureReason.SIGNATURE_INVALID,
    );
  });
});

describe("PNM_API_SIGNATURE=v2-only", () => {
  it("refuses HASH-SIGNATURE alone as SIGNATURE_VERSION_REQUIRED, and accepts PNM-SIGNATURE", async () => {
    const v1 = createHmac("sha256", pairs[1]!.secret).update(body).digest("hex");
    expect(await check({ "api-key": "new-key", "hash-signature": v1 }, { mode: "v2-only" })).toBe(
      FailureReason.SIGNATURE_VERSION_REQUIRED,
    );
    expect(
      await check({ "api-key": "new-key", "pnm-signature": await sign(pairs[1]!.secret) }, { mode: "v2-only" }),
    ).toBe("ok");
    expect(await check({ "api-key": "new-key" }, { mode: "v2-only" })).toBe(FailureReason.SIGNATURE_MISSING);
  });
});
