import { createHmac } from "node:crypto";
import { signBody } from "@pnm/client/protocol";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";
import { createApiKeyring } from "../src/auth/api-keyring.js";
import { createApiSignatureVerifier, type SignedFraming } from "../src/auth/api-signature.js";
import { failureInfo } from "../src/errors.js";
import { createMemoryNonceStore } from "../src/testing/memory-nonce-store.js";

// docs/upstream-wire-contract.md §2.3: the public sample values and their signature.
const sample = { apiKey: "plugnmeet", apiSecret: "zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6" };
const body = new TextEncoder().encode('{"room_id":"room01"}');
const expected = "4b60a468df680c0739f6c7255626b31c8934efc1293b9e40667575b964bf24b5";

const verifier = () =>
  createApiSignatureVerifier({
    keys: createApiKeyring([{ key: sample.apiKey, secret: sample.apiSecret }]),
    nonces: createMemoryNonceStore(),
  });
const request = (framing: SignedFraming = "body") => ({ method: "POST", path: "/auth/room/isRoomActive", framing });

async function check(headers: Record<string, string>, bytes = body): Promise<FailureReason | "ok"> {
  try {
    const run = verifier().begin((name) => headers[name], request());
    run.update(bytes.subarray(0, 7));
    run.update(bytes.subarray(7));
    await run.finish();
    return "ok";
  } catch (err) {
    return failureInfo(err).reason;
  }
}

describe("API signature", () => {
  it("matches the reference example, in the client and in the server", async () => {
    expect(await signBody(sample.apiSecret, body)).toBe(expected);
    expect(await check({ "api-key": "plugnmeet", "hash-signature": expected })).toBe("ok");
  });

  it.each([
    ["missing API-KEY", { "hash-signature": expected }, FailureReason.API_KEY_MISSING],
    ["wrong API-KEY", { "api-key": "plugnmeeT", "hash-signature": expected }, FailureReason.API_KEY_INVALID],
    ["missing HASH-SIGNATURE", { "api-key": "plugnmeet" }, FailureReason.SIGNATURE_MISSING],
    [
      "upper-case hex",
      { "api-key": "plugnmeet", "hash-signature": expected.toUpperCase() },
      FailureReason.SIGNATURE_INVALID,
    ],
    [
      "truncated signature",
      { "api-key": "plugnmeet", "hash-signature": expected.slice(0, 63) },
      FailureReason.SIGNATURE_INVALID,
    ],
    [
      "signature with a trailing byte",
      { "api-key": "plugnmeet", "hash-signature": `${expected}0` },
      FailureReason.SIGNATURE_INVALID,
    ],
    [
      "signature of another body",
      { "api-key": "plugnmeet", "hash-signature": expected.replace(/^4/, "5") },
      FailureReason.SIGNATURE_INVALID,
    ],
  ])("refuses %s", async (_name, headers, reason) => {
    expect(await check(headers as Record<string, string>)).toBe(reason);
  });

  it("binds every byte of the body", async () => {
    const changed = new TextEncoder().encode('{"room_id":"room02"}');
    expect(await check({ "api-key": "plugnmeet", "hash-signature": expected }, changed)).toBe(
      FailureReason.SIGNATURE_INVALID,
    );
  });
});

// Over gRPC and gRPC-web the signature covers the envelope's payload, never its 5-byte prefix.
describe("API signature over a message envelope", () => {
  const message = new TextEncoder().encode("\n\x06room01");
  const frame = (flags: number, payload: Uint8Array) => {
    const out = new Uint8Array(5 + payload.length);
    out[0] = flags;
    new DataView(out.buffer).setUint32(1, payload.length);
    out.set(payload, 5);
    return out;
  };
  const headers = (signed: Uint8Array) => ({
    "api-key": "plugnmeet",
    "hash-signature": createHmac("sha256", sample.apiSecret).update(signed).digest("hex"),
  });

  async function checkEnvelope(
    hdrs: Record<string, string>,
    body: Uint8Array,
    splitAt: number[] = [],
  ): Promise<FailureReason | "ok"> {
    try {
      const run = verifier().begin((name) => hdrs[name], request("envelope"));
      let from = 0;
      for (const at of [...splitAt, body.length]) {
        run.update(body.subarray(from, at));
        from = at;
      }
      await run.finish();
      return "ok";
    } catch (err) {
      return failureInfo(err).reason;
    }
  }

  it("verifies the payload's signature however the body is split into chunks", async () => {
    const body = frame(0, message);
    for (const splits of [
      [],
      [1],
      [3],
      [5],
      [6],
      [2, 4, 5, 9],
      Array.from({ length: body.length - 1 }, (_, i) => i + 1),
    ]) {
      expect(await checkEnvelope(headers(message), body, splits), JSON.stringify(splits)).toBe("ok");
    }
  });

  it("refuses a signature over the whole frame, prefix included", async () => {
    expect(await checkEnvelope(headers(frame(0, message)), frame(0, message))).toBe(FailureReason.SIGNATURE_INVALID);
  });

  it("signs an empty message as zero bytes", async () => {
    expect(await checkEnvelope(headers(new Uint8Array(0)), frame(0, new Uint8Array(0)))).toBe("ok");
  });

  it.each([
    ["a compressed envelope", frame(1, message)],
    ["an envelope with the trailers flag", frame(0x80, message)],
    ["two envelopes", Buffer.concat([frame(0, message), frame(0, message)])],
    ["a truncated envelope", frame(0, message).subarray(0, 10)],
    ["a truncated prefix", frame(0, message).subarray(0, 3)],
    ["an empty body", new Uint8Array(0)],
  ])("refuses %s as malformed, whatever the signature", async (_name, body) => {
    expect(await checkEnvelope(headers(message), body, [2])).toBe(FailureReason.BODY_MALFORMED);
  });

  it("refuses a compressed Connect or REST body before reading it", async () => {
    const hdrs: Record<string, string> = { ...headers(body), "content-encoding": "gzip" };
    expect(() => verifier().begin((name) => hdrs[name], request())).toThrow(/must not be compressed/);
    expect(await check({ ...headers(body), "content-encoding": "identity" })).toBe("ok");
  });
});
