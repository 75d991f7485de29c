import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";

/** Marks pnm access tokens; other token kinds signed with the same key fail. */
export const accessTokenKind = "access";

// go-jose's DefaultLeeway, which upstream verifiers apply to nbf, exp and iat.
const leewaySeconds = 60;

/** Upstream's claim set (PlugNmeetTokenClaims at the top level) plus pnm's. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  nbf: number;
  exp: number;
  name: string;
  user_id: string;
  room_id: string;
  is_admin?: boolean;
  is_hidden?: boolean;
  /** A number as upstream: 0 (WEB) is omitted, 1 is HYBRID_WEB. */
  client_type?: number;
  /** The room instance the token was issued for; a re-created room's tokens differ. */
  room_sid: string;
  /** The user's removal generation at issue, omitted when 0: a removal revokes every older token. */
  gen?: number;
  token_kind: string;
  jti: string;
}

export interface AccessTokenInput {
  userId: string;
  name: string;
  roomId: string;
  roomSid: string;
  isAdmin: boolean;
  isHidden: boolean;
  clientType: number;
  generation: number;
}

export interface VerifyOptions {
  nowMs?: number;
  /** Accept a token this long after it expired (renewal only). */
  graceMs?: number;
}

export interface AccessTokenCodec {
  mint(input: AccessTokenInput, validityMs: number, nowMs?: number): { token: string; claims: AccessTokenClaims };
  verify(token: string, options?: VerifyOptions): AccessTokenClaims;
}

export interface AccessTokenCodecOptions {
  apiKey: string;
  apiSecret: string;
}

const headerSegment = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const segmentPattern = /^[A-Za-z0-9_-]+$/;

export function createAccessTokenCodec(options: AccessTokenCodecOptions): AccessTokenCodec {
  // Imported once: re-importing the secret per call dominates the cost of HS256.
  const key: KeyObject = createSecretKey(Buffer.from(options.apiSecret, "utf8"));
  const sign = (input: string) => createHmac("sha256", key).update(input).digest();

  return {
    mint(input, validityMs, nowMs = Date.now()) {
      const now = Math.floor(nowMs / 1000);
      const claims: AccessTokenClaims = {
        iss: options.apiKey,
        sub: input.userId,
        nbf: now,
        exp: now + Math.floor(validityMs / 1000),
        name: input.name,
        user_id: input.userId,
        room_id: input.roomId,
        ...(input.isAdmin ? { is_admin: true } : {}),
        ...(input.isHidden ? { is_hidden: true } : {}),
        ...(input.clientType ? { client_type: input.clientType } : {}),
        room_sid: input.roomSid,
        ...(input.generation ? { gen: input.generation } : {}),
        token_kind: accessTokenKind,
        jti: randomBytes(12).toString("base64url"),
      };
      const signingInput = `${headerSegment}.${base64url(JSON.stringify(claims))}`;
      return { token: `${signingInput}.${sign(signingInput).toString("base64url")}`, claims };
    },

    verify(token, { nowMs = Date.now(), graceMs = 0 } = {}) {
      const parts = token.split(".");
      if (parts.length !== 3 || !parts.every((p) => segmentPattern.test(p))) {
        throw pnmError(FailureReason.TOKEN_MALFORMED, "token is not a compact JWS");
      }
      const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
      const header = parseJsonObject(headerPart);
      if (header.alg !== "HS256") {
        throw pnmError(FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED, `token algorithm ${JSON.stringify(header.alg)} is not allowed; only HS256 is`);
      }
      if ("crit" in header) {
        throw pnmError(FailureReason.TOKEN_MALFORMED, "token header has unsupported critical parameters");
      }
      const expected = sign(`${headerPart}.${payloadPart}`);
      const given = Buffer.from(signaturePart, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw pnmError(FailureReason.TOKEN_SIGNATURE_INVALID, "token signature is invalid");
      }
      const claims = parseJsonObject(payloadPart);
      if (claims.iss !== options.apiKey) {
        throw pnmError(FailureReason.TOKEN_ISSUER_INVALID, "token issuer is not this server's API key");
      }
      if (claims.token_kind !== accessTokenKind) {
        throw pnmError(FailureReason.TOKEN_KIND_INVALID, "token is not an access token");
      }
      if (
        !isNonEmptyString(claims.sub) ||
        !isNonEmptyString(claims.room_id) ||
        !isNonEmptyString(claims.room_sid) ||
        (claims.user_id !== undefined && claims.user_id !== claims.sub) ||
        typeof claims.exp !== "number" ||
        typeof claims.nbf !== "number" ||
        (claims.gen !== undefined && !Number.isInteger(claims.gen))
      ) {
        throw pnmError(FailureReason.TOKEN_CLAIMS_INVALID, "token claims are incomplete or inconsistent");
      }
      const now = nowMs / 1000;
      if (claims.nbf > now + leewaySeconds || (typeof claims.iat === "number" && claims.iat > now + leewaySeconds)) {
        throw pnmError(FailureReason.TOKEN_NOT_YET_VALID, "token is not valid yet");
      }
      if (claims.exp < now - leewaySeconds - graceMs / 1000) {
        throw pnmError(FailureReason.TOKEN_EXPIRED, "token has expired");
      }
      return { ...claims, user_id: claims.sub } as unknown as AccessTokenClaims;
    },
  };
}

function parseJsonObject(segment: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw pnmError(FailureReason.TOKEN_MALFORMED, "token segment is not a JSON object");
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
