import { createHmac } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";
import { createAccessTokenCodec } from "../src/auth/access-token.js";
import { failureInfo } from "../src/errors.js";

const apiKey = "pnm-test";
const apiSecret = "a-test-secret-that-is-long-enough-1234";
const codec = createAccessTokenCodec({ apiKey, apiSecret });
const input = {
  userId: "u1",
  name: "Alice",
  roomId: "room01",
  roomSid: "sid-1",
  isAdmin: true,
  isHidden: false,
  clientType: 0,
  generation: 0,
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
function forge(header: object, payload: object, secret = apiSecret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}
function reasonOf(fn: () => unknown): FailureReason {
  try {
    fn();
  } catch (err) {
    return failureInfo(err).reason;
  }
  throw new Error("expected a refusal");
}

describe("access tokens", () => {
  it("carries upstream's claims and header, so upstream verifiers accept it", () => {
    const { token, claims } = codec.mint(input, 600_000, 1_700_000_000_000);
    const [h, p] = token.split(".");
    expect(JSON.parse(Buffer.from(h!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    expect(payload).toMatchObject({
      iss: apiKey,
      sub: "u1",
      nbf: 1_700_000_000,
      exp: 1_700_000_600,
      name: "Alice",
      user_id: "u1",
      room_id: "room01",
      is_admin: true,
    });
    expect(payload).not.toHaveProperty("is_hidden");
    expect(payload).not.toHaveProperty("client_type");
    expect(claims.token_kind).toBe("access");
    expect(codec.verify(token, { nowMs: 1_700_000_100_000 }).sub).toBe("u1");
  });

  it("applies upstream's one-minute leeway and an optional grace", () => {
    const { token } = codec.mint(input, 600_000, 1_700_000_000_000);
    expect(codec.verify(token, { nowMs: 1_700_000_659_000 }).sub).toBe("u1");
    expect(reasonOf(() => codec.verify(token, { nowMs: 1_700_000_661_000 }))).toBe(FailureReason.TOKEN_EXPIRED);
    expect(codec.verify(token, { nowMs: 1_700_000_661_000, graceMs: 10_000 }).sub).toBe("u1");
    expect(reasonOf(() => codec.verify(token, { nowMs: 1_699_999_900_000 }))).toBe(FailureReason.TOKEN_NOT_YET_VALID);
  });

  const now = Math.floor(Date.now() / 1000);
  const good = {
    iss: apiKey,
    sub: "u1",
    user_id: "u1",
    room_id: "room01",
    room_sid: "s",
    nbf: now,
    exp: now + 600,
    token_kind: "access",
  };
  it.each([
    ["alg none", forge({ alg: "none", typ: "JWT" }, good), FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED],
    ["unsigned alg none", `${b64({ alg: "none" })}.${b64(good)}.`, FailureReason.TOKEN_MALFORMED],
    ["HS512", forge({ alg: "HS512", typ: "JWT" }, good), FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED],
    ["RS256 header", forge({ alg: "RS256", typ: "JWT" }, good), FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED],
    [
      "other secret",
      forge({ alg: "HS256", typ: "JWT" }, good, "another-secret-another-secret-123456"),
      FailureReason.TOKEN_SIGNATURE_INVALID,
    ],
    [
      "wrong issuer",
      forge({ alg: "HS256", typ: "JWT" }, { ...good, iss: "someone-else" }),
      FailureReason.TOKEN_ISSUER_INVALID,
    ],
    [
      "other token kind",
      forge({ alg: "HS256", typ: "JWT" }, { ...good, token_kind: "download" }),
      FailureReason.TOKEN_KIND_INVALID,
    ],
    [
      "upstream LTI-style token without kind",
      forge({ alg: "HS256", typ: "JWT" }, { ...good, token_kind: undefined }),
      FailureReason.TOKEN_KIND_INVALID,
    ],
    ["no exp", forge({ alg: "HS256", typ: "JWT" }, { ...good, exp: undefined }), FailureReason.TOKEN_CLAIMS_INVALID],
    [
      "user_id differs from sub",
      forge({ alg: "HS256", typ: "JWT" }, { ...good, user_id: "u2" }),
      FailureReason.TOKEN_CLAIMS_INVALID,
    ],
    ["garbage", "not-a-token", FailureReason.TOKEN_MALFORMED],
  ])("refuses %s", (_name, token, reason) => {
    expect(reasonOf(() => codec.verify(token))).toBe(reason);
  });

  it("refuses a tampered payload", () => {
    const { token } = codec.mint(input, 600_000);
    const [h, , s] = token.split(".");
    const tampered = `${h}.${b64({ ...good, is_admin: true, sub: "u1" })}.${s}`;
    expect(reasonOf(() => codec.verify(tampered))).toBe(FailureReason.TOKEN_SIGNATURE_INVALID);
  });
});
