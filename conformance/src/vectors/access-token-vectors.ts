import { isDeepStrictEqual } from "node:util";
import { type AccessTokenInput, mintAccessToken, verifyAccessToken } from "../tokens/access-token.js";
import { decodeCompact } from "../tokens/jwt.js";
import { MalformedVectorError, numberField, objectField, stringField, type Vector } from "./vector-file.js";

/**
 * `access-token-verify`: verifying `token` at `now` gives `expect` (and,
 * when valid, exactly `claims`). `access-token-mint`: minting `input` at
 * `now` gives exactly `header` and `claims` (plus a random non-empty `jti`),
 * and the token verifies.
 */
export function checkAccessTokenVector(vector: Vector): string | undefined {
  const keys = { apiKey: stringField(vector, "apiKey"), secret: stringField(vector, "secret") };
  const now = numberField(vector, "now");
  switch (vector.type) {
    case "access-token-verify": {
      const expected = stringField(vector, "expect");
      const verdict = verifyAccessToken(keys, stringField(vector, "token"), now);
      if (verdict.outcome !== expected) return `verification gave ${verdict.outcome}, expected ${expected}`;
      if (
        verdict.outcome === "valid" &&
        vector.claims !== undefined &&
        !isDeepStrictEqual(verdict.claims, objectField(vector, "claims"))
      ) {
        return `verified claims ${JSON.stringify(verdict.claims)} differ from ${JSON.stringify(vector.claims)}`;
      }
      return undefined;
    }
    case "access-token-mint": {
      const token = mintAccessToken(
        keys,
        objectField(vector, "input") as unknown as AccessTokenInput,
        numberField(vector, "validitySeconds"),
        now,
      );
      const decoded = decodeCompact(token);
      if (!decoded) return `minted ${token}, which is not a JWT`;
      if (!isDeepStrictEqual(decoded.header, objectField(vector, "header")))
        return `minted header ${JSON.stringify(decoded.header)}`;
      const { jti, ...claims } = decoded.claims;
      if (typeof jti !== "string" || jti === "") return "minted token has no jti";
      if (!isDeepStrictEqual(claims, objectField(vector, "claims"))) return `minted claims ${JSON.stringify(claims)}`;
      const verdict = verifyAccessToken(keys, token, now);
      return verdict.outcome === "valid" ? undefined : `the minted token does not verify: ${verdict.outcome}`;
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind access-token`);
  }
}
