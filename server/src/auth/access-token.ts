import { createHmac, type KeyObject, randomBytes, timingSafeEqual } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import { type ApiCredential, type ApiKeyring, createApiKeyring } from "./api-keyring.js";

/** Marks pnm access tokens; other token kinds signed with the same key fail. */
export const accessTokenKind = "access";

// go-jose's DefaultLeeway, which upstream verifiers apply to nbf, exp and iat.
const leewaySeconds = 60;

/** Upstream's claim set (PlugNmeetTokenClaims at the top level) plus pnm's. */
export interface AccessTokenClaims {
  /** Issuer: the server's API key. */
  iss: string;
  /** Subject: the user ID. */
  sub: string;
  /** Not before, in seconds since the epoch: the time of issue. */
  nbf: number;
  /** Expiry, in seconds since the epoch. */
  exp: number;
  /** The user's display name. */
  name: string;
  /** The user ID again, as upstream's claims carry it; always equal to `sub`. */
  user_id: string;
  /** The room the token admits to. */
  room_id: string;
  /** Present and true for a room admin (moderator). */
  is_admin?: boolean;
  /** Present and true for a user other participants do not see. */
  is_hidden?: boolean;
  /** A number as upstream: 0 (WEB) is omitted, 1 is HYBRID_WEB. */
  client_type?: number;
  /** The room instance the token was issued for; a re-created room's tokens differ. */
  room_sid: string;
  /**
   * The user's generation at issue, omitted when 0: a removal, a denial by the waiting room or a token
   * with less privilege raises it, revoking every older token.
   */
  gen?: number;
  /**
   * When the session began, in seconds since the epoch: the `nbf` of the join token GetJoinToken issued,
   * copied by every renewal (OpenID Connect's name for the time of authentication). The session ends
   * at most the server's maximum session age after it.
   */
  auth_time?: number;
  /** Always `accessTokenKind`. */
  token_kind: string;
  /** A random token ID (12 bytes, base64url), so no two tokens are the same. */
  jti: string;
}

/** Who and what an access token is for; the claims are written from it. */
export interface AccessTokenInput {
  /** Written as `sub` and `user_id`. */
  userId: string;
  /** The user's display name. */
  name: string;
  /** The room the token admits to. */
  roomId: string;
  /** The SID of the room instance; a token does not outlive its instance. */
  roomSid: string;
  /** Whether the user is a room admin (moderator). */
  isAdmin: boolean;
  /** Whether other participants do not see the user. */
  isHidden: boolean;
  /** Upstream's client type number: 0 (WEB, not written), 1 (HYBRID_WEB). */
  clientType: number;
  /** The user's generation now; 0 is not written. */
  generation: number;
  /** When the session began, in seconds since the epoch, written as `auth_time`; left out, nothing is written. */
  sessionStart?: number;
}

/** The clock and tolerance `verify` checks times against. */
export interface VerifyOptions {
  /** The current time in ms since the epoch; default Date.now(). */
  nowMs?: number;
  /** Accept a token this long after it expired (renewal only). */
  graceMs?: number;
}

/** Mints and verifies pnm access tokens: HS256 JWTs signed with the API secret. */
export interface AccessTokenCodec {
  /** A new token valid from `nowMs` (default now) for `validityMs`, rounded down to whole seconds, with its claims. */
  mint(input: AccessTokenInput, validityMs: number, nowMs?: number): { token: string; claims: AccessTokenClaims };
  /**
   * The claims of a valid token. Throws the pnm error of the first check that
   * fails: form, algorithm (HS256 only), signature, issuer, kind, claims, then
   * times, which get upstream's 60 s of leeway (plus `graceMs` on expiry).
   */
  verify(token: string, options?: VerifyOptions): AccessTokenClaims;
}

/** The API key (the tokens' issuer) and secret (their HS256 key). */
export interface AccessTokenCodecOptions {
  /** Written as `iss`; a token with another issuer does not verify. */
  apiKey: string;
  /** The HS256 key. */
  apiSecret: string;
}

const headerSegment = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const segmentPattern = /^[A-Za-z0-9_-]+$/;

/**
 * The access token codec of one API key and secret, or of a keyring (key
 * rotation): tokens are signed with the keyring's newest pair, its key as
 * `iss`, and verify with any active pair, whose key must then be the `iss`.
 * So a token outlives a rotation while its pair stays active, and no longer.
 */
export function createAccessTokenCodec(source: AccessTokenCodecOptions | ApiKeyring): AccessTokenCodec {
  // The keyring imports each secret once: re-importing it per call dominates the cost of HS256.
  const keys = "lookup" in source ? source : createApiKeyring([{ key: source.apiKey, secret: source.apiSecret }]);
  const sign = (key: KeyObject, input: string) => createHmac("sha256", key).update(input).digest();

  return {
    mint(input, validityMs, nowMs = Date.now()) {
      const now = Math.floor(nowMs / 1000);
      const signer = keys.newest();
      const claims: AccessTokenClaims = {
        iss: signer.key,
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
        ...(input.sessionStart !== undefined ? { auth_time: input.sessionStart } : {}),
        token_kind: accessTokenKind,
        jti: randomBytes(12).toString("base64url"),
      };
      const signingInput = `${headerSegment}.${base64url(JSON.stringify(claims))}`;
      return { token: `${signingInput}.${sign(signer.secret, signingInput).toString("base64url")}`, claims };
    },

    verify(token, { nowMs = Date.now(), graceMs = 0 } = {}) {
      const parts = token.split(".");
      if (parts.length !== 3 || !parts.every((p) => segmentPattern.test(p))) {
        throw pnmError(FailureReason.TOKEN_MALFORMED, "token is not a compact JWS");
      }
      const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
      const header = parseJsonObject(headerPart);
      if (header.alg !== "HS256") {
        throw pnmError(
          FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED,
          `token algorithm ${JSON.stringify(header.alg)} is not allowed; only HS256 is`,
        );
      }
      if ("crit" in header) {
        throw pnmError(FailureReason.TOKEN_MALFORMED, "token header has unsupported critical parameters");
      }
      const signer = activeSigner(keys, `${headerPart}.${payloadPart}`, Buffer.from(signaturePart, "base64url"));
      if (!signer) throw pnmError(FailureReason.TOKEN_SIGNATURE_INVALID, "token signature is invalid");
      const claims = parseJsonObject(payloadPart);
      if (claims.iss !== signer.key) {
        throw pnmError(FailureReason.TOKEN_ISSUER_INVALID, "token issuer is not the API key whose secret signed it");
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
        (claims.gen !== undefined && !Number.isInteger(claims.gen)) ||
        (claims.auth_time !== undefined && !Number.isInteger(claims.auth_time))
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

/**
 * The active credential whose secret made `signature`. Every secret is tried,
 * each compared in constant time and without stopping at a match, so the
 * time taken does not tell which one signed.
 */
function activeSigner(keys: ApiKeyring, input: string, signature: Buffer): ApiCredential | undefined {
  let signer: ApiCredential | undefined;
  for (const credential of keys.all()) {
    const expected = createHmac("sha256", credential.secret).update(input).digest();
    if (signature.length === expected.length && timingSafeEqual(signature, expected)) signer = credential;
  }
  return signer;
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
