import { createHash } from "node:crypto";
import type { AuthorizationResponse, KeyPair, User } from "@nats-io/jwt";
import { decodeNkeyPublic } from "./nkey-codec.js";

// The header every NATS v2 JWT carries, encoded once.
const headerSegment = Buffer.from(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" })).toString("base64url");

/** A key that is not the public nkey of the kind the claim needs. */
export class NatsJwtEncodeError extends Error {
  override name = "NatsJwtEncodeError";
}

function checkPublicKey(key: string, kind: "U" | "N", what: string): string {
  let decoded: ReturnType<typeof decodeNkeyPublic>;
  try {
    decoded = decodeNkeyPublic(key);
  } catch (cause) {
    throw new NatsJwtEncodeError(`${what} is not a public nkey`, { cause });
  }
  if (decoded.kind !== kind) throw new NatsJwtEncodeError(`${what} is not a ${kind}… key`);
  return key;
}

/**
 * Signs `claims` as a NATS v2 JWT, as @nats-io/jwt's encoders do (the same
 * claims in the same order, `iss`, `iat`, and `jti` the base64 SHA-512 of
 * the claims before it), with node:crypto's synchronous hash and base64url
 * instead of an asynchronous WebCrypto digest and JavaScript base64: the auth
 * callout signs two JWTs per connect. The claims are UTF-8, as JWTs are.
 */
function encodeNatsJwt(claims: Record<string, unknown>, signer: KeyPair): string {
  claims.iss = signer.getPublicKey();
  claims.iat = Math.floor(Date.now() / 1000);
  claims.jti = createHash("sha512").update(JSON.stringify(claims)).digest("base64");
  const payload = `${headerSegment}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${payload}.${Buffer.from(signer.sign(Buffer.from(payload))).toString("base64url")}`;
}

/** What a user JWT may bound: its audience (the account it joins) and expiry (Unix seconds). */
export interface UserJwtOptions {
  aud?: string;
  exp?: number;
}

/**
 * A user JWT for `userKey` (`U…`) signed by the account `signer`, with
 * `user`'s permissions and no data, payload or subscription limits of its
 * own (-1), as @nats-io/jwt's `encodeUser`.
 */
export function encodeUserJwt(
  name: string,
  userKey: string,
  signer: KeyPair,
  user: Partial<User>,
  options: UserJwtOptions = {},
): string {
  return encodeNatsJwt(
    {
      exp: options.exp,
      aud: options.aud ?? "NATS",
      name,
      sub: checkPublicKey(userKey, "U", "the user key"),
      nats: { data: -1, payload: -1, subs: -1, ...user, type: "user", version: 2 },
    },
    signer,
  );
}

/**
 * The auth callout's answer to nats-server `serverKey` (`N…`) about user
 * `userKey` (`U…`): a user JWT or an error, signed by the callout's issuer,
 * as @nats-io/jwt's `encodeAuthorizationResponse`.
 */
export function encodeAuthorizationResponseJwt(
  userKey: string,
  serverKey: string,
  signer: KeyPair,
  response: Partial<AuthorizationResponse>,
): string {
  return encodeNatsJwt(
    {
      aud: checkPublicKey(serverKey, "N", "the server key"),
      sub: checkPublicKey(userKey, "U", "the user key"),
      nats: { ...response, type: "authorization_response", version: 2 },
    },
    signer,
  );
}
