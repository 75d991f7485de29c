import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { KeyDerivationError } from "./errors.js";

const encoder = new TextEncoder();

// Fixed by the upstream web client v2.x: any change breaks interop with it.
const ROOM_SID_ITERATIONS = 100_000;

// Rooms that need no upstream interop can afford OWASP's 2023 figure for
// PBKDF2-SHA256. The salt prefix keeps this key unrelated to the upstream
// scheme's for the same passphrase and room, so a ciphertext from one scheme
// never opens under the other and guessing work is not shared between them.
const HARDENED_ITERATIONS = 600_000;
const HARDENED_SALT_PREFIX = "pnm-e2ee-v1|";

// livekit-client's ExternalE2EEKeyProvider defaults for a string key.
const LIVEKIT_SALT = "LKFrameEncryptionKey";
const LIVEKIT_ITERATIONS = 100_000;
const LIVEKIT_KEY_BYTES = 16;

const MESSAGE_KEY_BYTES = 32;

/**
 * The raw AES-256 message key bytes a scheme derives. Exposed for test vectors
 * and conformance checks; sessions use deriveMessageKey, which never exposes them.
 */
export async function deriveKeyBytes(
  passphrase: string,
  roomSid: string,
  scheme: KeyDerivation,
): Promise<Uint8Array<ArrayBuffer>> {
  const secret = passphraseBytes(passphrase);
  switch (scheme) {
    case KeyDerivation.SHA256:
      return new Uint8Array(await crypto.subtle.digest("SHA-256", secret));
    case KeyDerivation.UNSPECIFIED:
    case KeyDerivation.PBKDF2_ROOM_SID:
      return pbkdf2(secret, saltFromRoomSid("", roomSid), ROOM_SID_ITERATIONS, MESSAGE_KEY_BYTES);
    case KeyDerivation.PBKDF2_600K:
      return pbkdf2(secret, saltFromRoomSid(HARDENED_SALT_PREFIX, roomSid), HARDENED_ITERATIONS, MESSAGE_KEY_BYTES);
    default:
      throw new KeyDerivationError(`unknown key derivation scheme ${String(scheme)}`);
  }
}

/** The non-extractable AES-256-GCM key for room messages. */
export async function deriveMessageKey(passphrase: string, roomSid: string, scheme: KeyDerivation): Promise<CryptoKey> {
  const bytes = await deriveKeyBytes(passphrase, roomSid, scheme);
  try {
    return await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  } finally {
    // Once imported the key lives only inside WebCrypto; a copy in the heap
    // would outlive the session for as long as the garbage collector likes.
    bytes.fill(0);
  }
}

/**
 * The AES-128 frame key livekit-client derives when given this passphrase as a
 * string key, so media interop can be checked without running LiveKit.
 */
export async function deriveLiveKitMediaKeyBytes(passphrase: string): Promise<Uint8Array> {
  return pbkdf2(passphraseBytes(passphrase), encoder.encode(LIVEKIT_SALT), LIVEKIT_ITERATIONS, LIVEKIT_KEY_BYTES);
}

function passphraseBytes(passphrase: string): Uint8Array<ArrayBuffer> {
  // Upstream accepts an empty key string only to abort the meeting; deriving
  // from it would give every such room the same guessable key.
  if (passphrase.length === 0) throw new KeyDerivationError("E2EE passphrase is empty");
  return encoder.encode(passphrase);
}

function saltFromRoomSid(prefix: string, roomSid: string): Uint8Array<ArrayBuffer> {
  // Without the room SID every room would share one salt, and a caller that
  // derives before the room's initial data arrives would get a key no peer has.
  if (roomSid.length === 0) throw new KeyDerivationError("room SID is empty; it is the PBKDF2 salt");
  return encoder.encode(prefix + roomSid);
}

async function pbkdf2(
  secret: Uint8Array<ArrayBuffer>,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, length * 8);
  return new Uint8Array(bits);
}
