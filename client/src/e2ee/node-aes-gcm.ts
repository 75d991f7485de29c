import type { KeyObject } from "node:crypto";

type NodeCrypto = typeof import("node:crypto");

/** One AES-GCM operation through node:crypto, on a key WebCrypto holds. */
export interface NodeAesGcm {
  /** `ciphertext ‖ tag` of `plaintext`, written into `out` from `offset` on. */
  sealInto(iv: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void;
  /** The plaintext of `ciphertext ‖ tag`; throws when the tag does not match. */
  open(iv: Uint8Array, sealed: Uint8Array, tagBytes: number): Uint8Array;
}

// Node's WebCrypto runs every call as a job on libuv's thread pool, behind
// WebIDL argument checks and two promise hops: for a chat-sized message that
// costs several times the cipher itself. Under Node the same AES-GCM runs
// through node:crypto's synchronous cipher instead, on the very key the
// CryptoKey holds (same bytes out, same tag checked). A browser has no
// `process` and never gets here: node:crypto is looked up at run time, not
// imported, so no bundle for the web contains it.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;

// null: a key node:crypto cannot take, left to WebCrypto, which gives its usual errors.
const ciphers = new WeakMap<CryptoKey, NodeAesGcm | null>();

/**
 * node:crypto's AES-GCM for `key` used for `usage`, when running under Node
 * and WebCrypto would allow it (an AES-GCM key with that usage); undefined
 * otherwise, and the caller uses WebCrypto. Made once per key.
 */
export function nodeAesGcm(key: CryptoKey, usage: "encrypt" | "decrypt"): NodeAesGcm | undefined {
  if (!nodeCrypto || !key.usages.includes(usage)) return undefined;
  let cipher = ciphers.get(key);
  if (cipher === undefined) {
    cipher = create(nodeCrypto, key);
    ciphers.set(key, cipher);
  }
  return cipher ?? undefined;
}

function create(crypto: NodeCrypto, key: CryptoKey): NodeAesGcm | null {
  if (key.type !== "secret" || key.algorithm.name !== "AES-GCM") return null;
  const bits = (key.algorithm as AesKeyAlgorithm).length;
  if (bits !== 128 && bits !== 192 && bits !== 256) return null;
  const algorithm = `aes-${bits}-gcm` as const;
  let keyObject: KeyObject;
  try {
    keyObject = crypto.KeyObject.from(key);
  } catch {
    return null;
  }
  return {
    sealInto(iv, plaintext, out, offset) {
      const c = crypto.createCipheriv(algorithm, keyObject, iv);
      const body = c.update(plaintext);
      out.set(body, offset);
      c.final(); // GCM writes nothing at the end
      out.set(c.getAuthTag(), offset + body.length);
    },
    open(iv, sealed, tagBytes) {
      const d = crypto.createDecipheriv(algorithm, keyObject, iv, { authTagLength: tagBytes });
      d.setAuthTag(sealed.subarray(sealed.length - tagBytes));
      const plaintext = d.update(sealed.subarray(0, sealed.length - tagBytes));
      d.final(); // throws when the tag does not match
      return ownedBytes(plaintext);
    },
  };
}

/** A plain Uint8Array over the bytes, as WebCrypto's answer would be, copied only when the Buffer shares its memory. */
function ownedBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? new Uint8Array(bytes.buffer, 0, bytes.byteLength)
    : new Uint8Array(bytes);
}
