import { describe, expect, it } from "vitest";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { signBody } from "@pnm/client";
import { createApiSignatureVerifier } from "../src/auth/api-signature.js";
import { failureInfo } from "../src/errors.js";

// upstream-wire-contract.md §2.3: the public sample values and their signature.
const sample = { apiKey: "plugnmeet", apiSecret: "zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6" };
const body = new TextEncoder().encode('{"room_id":"room01"}');
const expected = "4b60a468df680c0739f6c7255626b31c8934efc1293b9e40667575b964bf24b5";

function check(headers: Record<string, string>, bytes = body): FailureReason | "ok" {
  const verifier = createApiSignatureVerifier(sample);
  try {
    const run = verifier.begin((name) => headers[name]);
    run.update(bytes.subarray(0, 7));
    run.update(bytes.subarray(7));
    run.finish();
    return "ok";
  } catch (err) {
    return failureInfo(err).reason;
  }
}

describe("API signature", () => {
  it("matches the reference example, in the client and in the server", async () => {
    expect(await signBody(sample.apiSecret, body)).toBe(expected);
    expect(check({ "api-key": "plugnmeet", "hash-signature": expected })).toBe("ok");
  });

  it.each([
    ["missing API-KEY", { "hash-signature": expected }, FailureReason.API_KEY_MISSING],
    ["wrong API-KEY", { "api-key": "plugnmeeT", "hash-signature": expected }, FailureReason.API_KEY_INVALID],
    ["missing HASH-SIGNATURE", { "api-key": "plugnmeet" }, FailureReason.SIGNATURE_MISSING],
    ["upper-case hex", { "api-key": "plugnmeet", "hash-signature": expected.toUpperCase() }, FailureReason.SIGNATURE_INVALID],
    ["truncated signature", { "api-key": "plugnmeet", "hash-signature": expected.slice(0, 63) }, FailureReason.SIGNATURE_INVALID],
    ["signature with a trailing byte", { "api-key": "plugnmeet", "hash-signature": `${expected}0` }, FailureReason.SIGNATURE_INVALID],
    ["signature of another body", { "api-key": "plugnmeet", "hash-signature": expected.replace(/^4/, "5") }, FailureReason.SIGNATURE_INVALID],
  ])("refuses %s", (_name, headers, reason) => {
    expect(check(headers as Record<string, string>)).toBe(reason);
  });

  it("binds every byte of the body", () => {
    const changed = new TextEncoder().encode('{"room_id":"room02"}');
    expect(check({ "api-key": "plugnmeet", "hash-signature": expected }, changed)).toBe(FailureReason.SIGNATURE_INVALID);
  });
});
