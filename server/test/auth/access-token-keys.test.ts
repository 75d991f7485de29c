import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";
import { createAccessTokenCodec } from "../../src/auth/access-token.js";
import { createApiKeyring } from "../../src/auth/api-keyring.js";
import { failureInfo } from "../../src/errors.js";
import { forgeJwt } from "../support/tokens.js";

// Access tokens under key rotation: signed with the newest pair, verified
// with any active one whose key is the token's issuer.
const older = { key: "older", secret: "older-secret-0123456789abcdef012345" };
const newer = { key: "newer", secret: "newer-secret-0123456789abcdef012345" };
const input = {
  userId: "u",
  name: "U",
  roomId: "r",
  roomSid: "sid",
  isAdmin: false,
  isHidden: false,
  clientType: 0,
  generation: 0,
};
const outcome = (run: () => unknown) => {
  try {
    run();
    return "valid";
  } catch (err) {
    return FailureReason[failureInfo(err).reason];
  }
};

describe("access tokens with several API keys", () => {
  it("signs with the newest pair and verifies with any active one, until it is removed", () => {
    const keys = createApiKeyring([older]);
    const codec = createAccessTokenCodec(keys);
    const before = codec.mint(input, 600_000);
    keys.replace([older, newer]);
    const during = codec.mint(input, 600_000);
    expect([before.claims.iss, during.claims.iss]).toEqual(["older", "newer"]);
    expect(outcome(() => codec.verify(before.token))).toBe("valid");
    expect(outcome(() => codec.verify(during.token))).toBe("valid");
    keys.replace([newer]);
    expect(outcome(() => codec.verify(before.token))).toBe("TOKEN_SIGNATURE_INVALID");
    expect(outcome(() => codec.verify(during.token))).toBe("valid");
  });

  it("refuses a token whose issuer is not the key whose secret signed it", () => {
    const codec = createAccessTokenCodec(createApiKeyring([older, newer]));
    const claims = { ...codec.mint(input, 600_000).claims, iss: "older" };
    expect(outcome(() => codec.verify(forgeJwt({ alg: "HS256", typ: "JWT" }, claims, newer.secret)))).toBe(
      "TOKEN_ISSUER_INVALID",
    );
    expect(outcome(() => codec.verify(forgeJwt({ alg: "HS256", typ: "JWT" }, claims, older.secret)))).toBe("valid");
  });
});
