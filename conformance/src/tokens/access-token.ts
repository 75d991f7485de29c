import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ReasonName } from "../failure-table.js";
import { encodeSegment, type JsonObject, parseSegment } from "./jwt.js";

/** The one token kind VerifyToken accepts; other kinds share key and issuer upstream. */
const accessTokenKind = "access";

// go-jose's DefaultLeeway, which upstream applies to nbf, exp and iat.
const leewaySeconds = 60;
const segment = /^[A-Za-z0-9_-]+$/;

/** What the tokens are signed with and issued by. */
export interface TokenKeys {
  /** The server's API key: the tokens' issuer. */
  apiKey: string;
  /** The server's API secret: the HS256 key. */
  secret: string;
}

/** Who a token is for. */
export interface AccessTokenInput {
  /** `sub` and `user_id`. */
  userId: string;
  /** The user's display name. */
  name: string;
  /** The room the token admits to. */
  roomId: string;
  /** The room instance the token is for. */
  roomSid: string;
  /** Written only when true. */
  isAdmin: boolean;
  /** Written only when true. */
  isHidden: boolean;
  /** Upstream's client type (1: HYBRID_WEB); 0 is not written. */
  clientType: number;
}

/** A token's claims when the contract accepts it, otherwise the reason it must be refused with. */
export type TokenVerdict = { outcome: "valid"; claims: JsonObject } | { outcome: ReasonName };

/**
 * The contract's access token (docs/upstream-wire-contract.md §5 plus pnm's
 * room_sid, token_kind and jti): HS256, upstream's claim names, false
 * booleans and client_type 0 left out.
 */
export function mintAccessToken(
  keys: TokenKeys,
  input: AccessTokenInput,
  validitySeconds: number,
  nowSeconds: number,
): string {
  const claims: JsonObject = {
    iss: keys.apiKey,
    sub: input.userId,
    nbf: nowSeconds,
    exp: nowSeconds + validitySeconds,
    name: input.name,
    user_id: input.userId,
    room_id: input.roomId,
    ...(input.isAdmin ? { is_admin: true } : {}),
    ...(input.isHidden ? { is_hidden: true } : {}),
    ...(input.clientType ? { client_type: input.clientType } : {}),
    room_sid: input.roomSid,
    token_kind: accessTokenKind,
    jti: randomBytes(12).toString("base64url"),
  };
  const signingInput = `${encodeSegment({ alg: "HS256", typ: "JWT" })}.${encodeSegment(claims)}`;
  return `${signingInput}.${hs256(keys.secret, signingInput).toString("base64url")}`;
}

/**
 * The contract's verification. A token that fails several checks reports the
 * first in this order: shape, algorithm, critical headers, signature, issuer,
 * kind, claims, not-before, expiry. The order is part of the contract, so
 * that every implementation gives the same reason for the same token.
 */
export function verifyAccessToken(keys: TokenKeys, token: string, nowSeconds: number): TokenVerdict {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => segment.test(p))) return { outcome: "TOKEN_MALFORMED" };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseSegment(headerPart);
  if (!header) return { outcome: "TOKEN_MALFORMED" };
  if (header.alg !== "HS256") return { outcome: "TOKEN_ALGORITHM_NOT_ALLOWED" };
  if ("crit" in header) return { outcome: "TOKEN_MALFORMED" };
  const expected = hs256(keys.secret, `${headerPart}.${payloadPart}`);
  const given = Buffer.from(signaturePart, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { outcome: "TOKEN_SIGNATURE_INVALID" };
  const claims = parseSegment(payloadPart);
  if (!claims) return { outcome: "TOKEN_MALFORMED" };
  if (claims.iss !== keys.apiKey) return { outcome: "TOKEN_ISSUER_INVALID" };
  if (claims.token_kind !== accessTokenKind) return { outcome: "TOKEN_KIND_INVALID" };
  const complete =
    isNonEmptyString(claims.sub) &&
    isNonEmptyString(claims.room_id) &&
    isNonEmptyString(claims.room_sid) &&
    (claims.user_id === undefined || claims.user_id === claims.sub) &&
    typeof claims.exp === "number" &&
    typeof claims.nbf === "number";
  if (!complete) return { outcome: "TOKEN_CLAIMS_INVALID" };
  const iat = claims.iat;
  if (
    (claims.nbf as number) > nowSeconds + leewaySeconds ||
    (typeof iat === "number" && iat > nowSeconds + leewaySeconds)
  ) {
    return { outcome: "TOKEN_NOT_YET_VALID" };
  }
  if ((claims.exp as number) < nowSeconds - leewaySeconds) return { outcome: "TOKEN_EXPIRED" };
  return { outcome: "valid", claims: { ...claims, user_id: claims.sub } };
}

function hs256(secret: string, input: string): Buffer {
  return createHmac("sha256", secret).update(input).digest();
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}
