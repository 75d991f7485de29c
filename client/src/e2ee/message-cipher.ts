import { DecryptionError } from "./errors.js";
import { nodeAesGcm } from "./node-aes-gcm.js";

/** Length in bytes of the random AES-GCM IV that starts every encrypted message. */
export const IV_BYTES = 12;
/** Length in bytes of the AES-GCM tag that ends every encrypted message. */
export const TAG_BYTES = 16;

/**
 * Seals one message as `IV ‖ ciphertext ‖ tag` with no additional data: the
 * upstream web client's raw binary wire form.
 *
 * Pass `iv` only to reproduce test vectors: two messages under one key with
 * the same IV leak their XOR and let anyone forge tags.
 */
export async function encryptMessage(
  key: CryptoKey,
  plaintext: Uint8Array,
  iv: Uint8Array = crypto.getRandomValues(new Uint8Array(IV_BYTES)),
): Promise<Uint8Array> {
  if (iv.length !== IV_BYTES) throw new RangeError(`AES-GCM IV must be ${IV_BYTES} bytes, got ${iv.length}`);
  const fast = nodeAesGcm(key, "encrypt");
  if (fast) {
    const wire = new Uint8Array(IV_BYTES + plaintext.length + TAG_BYTES);
    wire.set(iv);
    fast.sealInto(iv, plaintext, wire, IV_BYTES);
    return wire;
  }
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: ownBuffer(iv) }, key, ownBuffer(plaintext));
  const wire = new Uint8Array(IV_BYTES + sealed.byteLength);
  wire.set(iv);
  wire.set(new Uint8Array(sealed), IV_BYTES);
  return wire;
}

/** Opens `IV ‖ ciphertext ‖ tag`; any failure is a DecryptionError. */
export async function decryptMessage(key: CryptoKey, wire: Uint8Array): Promise<Uint8Array> {
  if (wire.length < IV_BYTES + TAG_BYTES) {
    throw new DecryptionError(
      `encrypted message has ${wire.length} bytes, fewer than the ${IV_BYTES + TAG_BYTES} of IV and tag`,
    );
  }
  const fast = nodeAesGcm(key, "decrypt");
  if (fast) {
    try {
      return fast.open(wire.subarray(0, IV_BYTES), wire.subarray(IV_BYTES), TAG_BYTES);
    } catch (err) {
      throw new DecryptionError("message does not decrypt: wrong key or altered bytes", { cause: err });
    }
  }
  const bytes = ownBuffer(wire);
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES) },
      key,
      bytes.subarray(IV_BYTES),
    );
    return new Uint8Array(plaintext);
  } catch (err) {
    throw new DecryptionError("message does not decrypt: wrong key or altered bytes", { cause: err });
  }
}

// WebCrypto refuses views on a SharedArrayBuffer; copying only those keeps
// the common case free of copies.
function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
