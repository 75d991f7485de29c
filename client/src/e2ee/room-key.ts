import type { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { E2eeKeyMissingError } from "./errors.js";
import { deriveMessageKey } from "./key-derivation.js";
import { decryptMessage, encryptMessage } from "./message-cipher.js";

/** What a room key is derived from: all three must be the other participants' for their messages to open. */
export interface RoomKeyOptions {
  /** The room's server-generated key or the secret the user typed, used as a string. */
  passphrase: string;
  /** The room SID of the current room instance (NatsInitialData.room.room_sid). */
  roomSid: string;
  /** The room's key derivation scheme; UNSPECIFIED derives as PBKDF2_ROOM_SID, upstream's scheme. */
  scheme: KeyDerivation;
}

/** A room's message key, held inside WebCrypto (never as bytes) until `clear`. */
export interface RoomKey {
  /** Seals a message as `IV ‖ ciphertext ‖ tag` under a fresh random IV; throws E2eeKeyMissingError after `clear`. */
  encrypt(plaintext: Uint8Array): Promise<Uint8Array>;
  /** Opens `IV ‖ ciphertext ‖ tag`; throws DecryptionError when it does not open under this key, E2eeKeyMissingError after `clear`. */
  decrypt(wire: Uint8Array): Promise<Uint8Array>;
  /**
   * What to hand to livekit-client's ExternalE2EEKeyProvider.setKey: LiveKit
   * derives its own frame key from the string whatever the message scheme.
   */
  readonly liveKitPassphrase: string;
  /** Forgets the key and the passphrase; every later use throws E2eeKeyMissingError. */
  clear(): void;
}

/**
 * One room session's E2EE key. Each session owns its key, so leaving a room
 * or joining another with a different passphrase never reuses a stale one.
 */
export async function createRoomKey(options: RoomKeyOptions): Promise<RoomKey> {
  let key: CryptoKey | null = await deriveMessageKey(options.passphrase, options.roomSid, options.scheme);
  let passphrase: string | null = options.passphrase;

  const loadedKey = (): CryptoKey => {
    if (!key) throw new E2eeKeyMissingError();
    return key;
  };

  return {
    encrypt: async (plaintext) => encryptMessage(loadedKey(), plaintext),
    decrypt: async (wire) => decryptMessage(loadedKey(), wire),
    get liveKitPassphrase() {
      if (passphrase === null) throw new E2eeKeyMissingError();
      return passphrase;
    },
    clear() {
      key = null;
      passphrase = null;
    },
  };
}
