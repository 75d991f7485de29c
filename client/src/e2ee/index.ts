/**
 * pnm's end-to-end encryption primitives (WebCrypto; under Node, messages
 * are sealed and opened by node:crypto on the same key): room key derivation
 * and AES-256-GCM messages in `IV ‖ ciphertext ‖ tag` form, byte-compatible
 * with upstream's web client.
 *
 * @packageDocumentation
 */
export { DecryptionError, E2eeKeyMissingError, KeyDerivationError } from "./errors.js";
export { deriveKeyBytes, deriveLiveKitMediaKeyBytes, deriveMessageKey } from "./key-derivation.js";
export { decryptMessage, encryptMessage, IV_BYTES, TAG_BYTES } from "./message-cipher.js";
export { createRoomKey, type RoomKey, type RoomKeyOptions } from "./room-key.js";
