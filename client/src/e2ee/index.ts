export { DecryptionError, E2eeKeyMissingError, KeyDerivationError } from "./errors.js";
export { deriveKeyBytes, deriveLiveKitMediaKeyBytes, deriveMessageKey } from "./key-derivation.js";
export { IV_BYTES, TAG_BYTES, decryptMessage, encryptMessage } from "./message-cipher.js";
export { createRoomKey, type RoomKey, type RoomKeyOptions } from "./room-key.js";
