import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { ClaimsData } from "@nats-io/jwt";
import { type KeyPair, NKeysError, NKeysErrorCode } from "@nats-io/nkeys";
import {
  type DecodedNkey,
  decodeNkeyPublic,
  decodeNkeySeed,
  encodeNkeyPrivate,
  encodeNkeyPublic,
  type NkeyKind,
} from "./nkey-codec.js";

// @nats-io/nkeys signs with tweetnacl and re-derives the key pair from the seed on
// every getPublicKey()/sign() (~130 signatures/s), too slow for an auth callout
// during a reconnect storm. node:crypto does the same deterministic Ed25519 in C.
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");
const spkiEd25519Prefix = Buffer.from("302a300506032b6570032100", "hex");

export class NativeSignerError extends Error {
  override readonly name = "NativeSignerError";
}

function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([spkiEd25519Prefix, raw]), format: "der", type: "spki" });
}

/**
 * Builds a KeyPair, usable wherever @nats-io/jwt or @nats-io/nkeys take one, from
 * an nkey seed (`SA…`, `SU…`, `SN…`, `SO…`; curve seeds cannot sign).
 */
export function createNativeSigner(seed: string | Uint8Array): KeyPair {
  let decoded: DecodedNkey;
  try {
    decoded = decodeNkeySeed(seed);
  } catch (cause) {
    throw new NativeSignerError("not a valid nkey seed", { cause });
  }
  if (decoded.kind === "X") throw new NativeSignerError("curve (xkey) seeds cannot sign");
  const { kind, raw } = decoded;

  let seedText: Uint8Array | undefined = new TextEncoder().encode(
    typeof seed === "string" ? seed : new TextDecoder().decode(seed),
  );
  const der = Buffer.concat([pkcs8Ed25519Prefix, raw]);
  let privateKey: KeyObject | undefined = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  const rawPublic = new Uint8Array(
    createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(spkiEd25519Prefix.length),
  );
  let publicKey: KeyObject | undefined = ed25519PublicKeyObject(rawPublic);
  const publicText = encodeNkeyPublic(kind, rawPublic);
  raw.fill(0);

  // Same errors as @nats-io/nkeys after clear(), so callers cannot tell the two apart.
  const live = <T>(value: T | undefined): T => {
    if (value === undefined) throw new NKeysError(NKeysErrorCode.ClearedPair);
    return value;
  };

  return {
    getPublicKey: () => {
      live(publicKey);
      return publicText;
    },
    getPrivateKey: () => {
      // @nats-io/jwt calls this on every encode just to check that a seed is present;
      // derived on demand so that no second, 64-byte form of the secret stays in memory.
      const seedBytes = live(privateKey).export({ format: "der", type: "pkcs8" }).subarray(pkcs8Ed25519Prefix.length);
      const both = new Uint8Array(64);
      both.set(seedBytes);
      both.set(rawPublic, 32);
      seedBytes.fill(0);
      const encoded = new TextEncoder().encode(encodeNkeyPrivate(both));
      both.fill(0);
      return encoded;
    },
    getSeed: () => live(seedText).slice(),
    sign: (input) => new Uint8Array(sign(null, input, live(privateKey))),
    verify: (input, signature) => signature.length === 64 && verify(null, input, live(publicKey), signature),
    clear: () => {
      // The KeyObject's memory belongs to OpenSSL and cannot be wiped; dropping it
      // lets it be freed, and the seed text we hold is zeroed.
      seedText?.fill(0);
      seedText = undefined;
      privateKey = undefined;
      publicKey = undefined;
    },
    seal: () => {
      throw new NKeysError(NKeysErrorCode.InvalidNKeyOperation);
    },
    open: () => {
      throw new NKeysError(NKeysErrorCode.InvalidNKeyOperation);
    },
  };
}

export class NatsJwtError extends Error {
  override readonly name = "NatsJwtError";
}

export interface VerifyNatsJwtOptions {
  /** Required `aud`, e.g. "nats-authorization-request" for callout requests. */
  audience?: string;
  nowSeconds?: number;
}

const segmentPattern = /^[A-Za-z0-9_-]+$/;
const issuerKinds: ReadonlySet<NkeyKind> = new Set(["N", "A"]);
// Server ids are few and stable, so caching their KeyObjects saves an SPKI parse
// per request; the bound stops a stream of bogus issuers from growing it.
const issuerKeyCache = new Map<string, KeyObject>();
const issuerKeyCacheLimit = 256;

function issuerKey(iss: string): KeyObject {
  const cached = issuerKeyCache.get(iss);
  if (cached) return cached;
  let decoded: DecodedNkey;
  try {
    decoded = decodeNkeyPublic(iss);
  } catch (cause) {
    throw new NatsJwtError("jwt issuer is not an nkey", { cause });
  }
  if (!issuerKinds.has(decoded.kind)) throw new NatsJwtError("jwt issuer is not a server or account nkey");
  const key = ed25519PublicKeyObject(decoded.raw);
  if (issuerKeyCache.size >= issuerKeyCacheLimit) issuerKeyCache.clear();
  issuerKeyCache.set(iss, key);
  return key;
}

function parseSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch (cause) {
    throw new NatsJwtError(`jwt ${what} is not JSON`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new NatsJwtError(`jwt ${what} is not an object`);
  return value as Record<string, unknown>;
}

/**
 * Verifies a NATS v2 JWT (alg `ed25519-nkey`, signature over `header.payload`)
 * issued by a server (`N…`) or account (`A…`) and returns its claims. Unlike
 * @nats-io/jwt's decode it refuses v1 tokens (whose signature leaves the header
 * unbound) and checks `exp`, `nbf` and, when asked, `aud`.
 */
export function verifyNatsJwt<T = unknown>(token: string, options: VerifyNatsJwtOptions = {}): ClaimsData<T> {
  const segments = token.split(".");
  if (segments.length !== 3 || !segments.every((segment) => segmentPattern.test(segment))) {
    throw new NatsJwtError("jwt is malformed");
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments;
  const header = parseSegment(headerSegment, "header");
  if (header.typ !== "JWT" && header.typ !== "jwt") throw new NatsJwtError("jwt typ is not JWT");
  if (header.alg !== "ed25519-nkey") throw new NatsJwtError("jwt alg is not ed25519-nkey");
  const claims = parseSegment(payloadSegment, "payload");
  if (typeof claims.iss !== "string") throw new NatsJwtError("jwt has no issuer");
  const signature = Buffer.from(signatureSegment, "base64url");
  const signed = Buffer.from(token.slice(0, headerSegment.length + 1 + payloadSegment.length), "ascii");
  if (signature.length !== 64 || !verify(null, signed, issuerKey(claims.iss), signature)) {
    throw new NatsJwtError("jwt signature is invalid");
  }
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  // Same comparisons as the Go jwt library the nats-server uses.
  if (typeof claims.exp === "number" && claims.exp > 0 && now > claims.exp) throw new NatsJwtError("jwt has expired");
  if (typeof claims.nbf === "number" && claims.nbf > 0 && claims.nbf > now)
    throw new NatsJwtError("jwt is not yet valid");
  if (options.audience !== undefined && claims.aud !== options.audience)
    throw new NatsJwtError("jwt audience does not match");
  return claims as unknown as ClaimsData<T>;
}
