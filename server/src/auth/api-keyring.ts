import { createSecretKey, hash, type KeyObject, timingSafeEqual } from "node:crypto";

/** One API key and the secret it selects, as configured. */
export interface ApiKeyPair {
  /** Sent by callers in API-KEY; not secret. */
  key: string;
  /** Keys the request signatures and access tokens; at least 32 bytes when configured. */
  secret: string;
}

/** An active pair, with what the checks need precomputed. */
export interface ApiCredential {
  /** The API key. */
  readonly key: string;
  /** The secret imported once: converting it on every request costs more than the MAC of a small body. */
  readonly secret: KeyObject;
}

/**
 * The API key/secret pairs that are active at a moment. Several can be
 * active at once, so a secret can be rolled without downtime: the caller's
 * API-KEY selects the secret its requests are checked with, and access tokens
 * are signed with the newest pair (the last one listed) and verified with
 * any active one. `replace` swaps the whole set at once; requests already
 * being checked keep the credential they started with.
 */
export interface ApiKeyring {
  /**
   * The active credential whose key is `apiKey`. Every active key is compared,
   * as SHA-256 digests in constant time and without stopping at a match, so
   * the time taken tells nothing about which key, or how much of one, matched.
   */
  lookup(apiKey: string): ApiCredential | undefined;
  /** Every active credential, in the configured order. */
  all(): readonly ApiCredential[];
  /** The newest credential: the last one listed. New access tokens are signed with it. */
  newest(): ApiCredential;
  /** Makes `pairs` the active set (at least one pair, each key once). */
  replace(pairs: readonly ApiKeyPair[]): void;
}

/** A set of API key pairs that must not be used; the message says why. */
export class ApiKeyPairsError extends Error {
  override name = "ApiKeyPairsError";
}

// The public sample secret of upstream's config_sample.yaml: a server running
// with it is open to anyone who has read that file.
const publishedSampleSecrets = new Set(["zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6"]);

/** Secrets shorter than this are refused: an HMAC key should carry at least 256 bits. */
export const minSecretBytes = 32;

/**
 * The policy for configured pairs: refuses a set that is empty, names a key
 * twice (a key selects exactly one secret), or has an empty key, a secret
 * under 32 bytes or upstream's published sample secret. The keyring itself
 * checks only the structure, so tests and vectors can use the sample secret.
 */
export function checkApiKeyPairs(pairs: readonly ApiKeyPair[]): void {
  checkStructure(pairs);
  for (const pair of pairs) {
    if (publishedSampleSecrets.has(pair.secret))
      throw new ApiKeyPairsError(`key "${pair.key}": the secret is a published sample secret; generate your own`);
    if (Buffer.byteLength(pair.secret) < minSecretBytes)
      throw new ApiKeyPairsError(`key "${pair.key}": the secret must be at least ${minSecretBytes} bytes long`);
  }
}

function checkStructure(pairs: readonly ApiKeyPair[]): void {
  if (pairs.length === 0) throw new ApiKeyPairsError("at least one API key pair is needed");
  const seen = new Set<string>();
  for (const [i, pair] of pairs.entries()) {
    if (typeof pair.key !== "string" || !pair.key)
      throw new ApiKeyPairsError(`pair ${i + 1}: the key must be a non-empty string`);
    if (seen.has(pair.key))
      throw new ApiKeyPairsError(`pair ${i + 1}: key "${pair.key}" is listed twice; a key selects exactly one secret`);
    seen.add(pair.key);
    if (typeof pair.secret !== "string" || !pair.secret)
      throw new ApiKeyPairsError(`key "${pair.key}": the secret must be a non-empty string`);
  }
}

interface Entry extends ApiCredential {
  readonly keyDigest: Buffer;
}

/** A keyring with `pairs` active (at least one pair, each key once); `replace` changes them later. */
export function createApiKeyring(pairs: readonly ApiKeyPair[]): ApiKeyring {
  let entries: readonly Entry[] = [];
  const replace = (next: readonly ApiKeyPair[]) => {
    checkStructure(next);
    entries = next.map((pair) => ({
      key: pair.key,
      secret: createSecretKey(Buffer.from(pair.secret, "utf8")),
      keyDigest: sha256(pair.key),
    }));
  };
  replace(pairs);
  return {
    lookup(apiKey) {
      const digest = sha256(apiKey);
      let found: Entry | undefined;
      for (const entry of entries) {
        // Digests have equal length, so each comparison's time depends on neither key.
        if (timingSafeEqual(digest, entry.keyDigest)) found = entry;
      }
      return found;
    },
    all: () => entries,
    newest: () => entries[entries.length - 1]!,
    replace,
  };
}

// The one-shot hash: half the cost of a Hash object, on every signed request.
function sha256(text: string): Buffer {
  return hash("sha256", text, "buffer");
}
