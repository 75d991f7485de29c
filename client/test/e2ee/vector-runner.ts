// Runs conformance/vectors/e2ee.json against the e2ee module. Kept free of
// node: imports so the browser test can bundle it unchanged.
import { type KeyDerivation, KeyDerivationSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import {
  createRoomKey,
  DecryptionError,
  deriveKeyBytes,
  deriveLiveKitMediaKeyBytes,
  deriveMessageKey,
  encryptMessage,
} from "../../src/e2ee/index.js";

interface VectorBase {
  name: string;
  purpose: string;
}

export interface KeyDerivationVector extends VectorBase {
  type: "key-derivation";
  scheme: string;
  passphrase: string;
  roomSid: string;
  keyHex: string;
}

export interface LiveKitMediaKeyVector extends VectorBase {
  type: "livekit-media-key";
  passphrase: string;
  keyHex: string;
}

export interface MessageEncryptVector extends VectorBase {
  type: "message-encrypt";
  scheme: string;
  passphrase: string;
  roomSid: string;
  ivHex: string;
  plaintextHex: string;
  wireHex: string;
}

export interface MessageDecryptFailureVector extends VectorBase {
  type: "message-decrypt-failure";
  scheme: string;
  passphrase: string;
  roomSid: string;
  wireHex: string;
  expect: "decrypt-error";
}

export type E2eeVector =
  | KeyDerivationVector
  | LiveKitMediaKeyVector
  | MessageEncryptVector
  | MessageDecryptFailureVector;

export interface E2eeVectorFile {
  schema: "pnm-vectors/v1";
  kind: "e2ee";
  vectors: E2eeVector[];
}

/** The fields of a vector that the implementation must reproduce. */
export type Outcome = Record<string, string>;

export function expectedOutcome(vector: E2eeVector): Outcome {
  switch (vector.type) {
    case "key-derivation":
    case "livekit-media-key":
      return { keyHex: vector.keyHex };
    case "message-encrypt":
      return { wireHex: vector.wireHex, plaintextHex: vector.plaintextHex };
    case "message-decrypt-failure":
      return { expect: vector.expect };
  }
}

/**
 * Computes a vector's outcome from its inputs only. Messages are sealed with
 * the low-level functions (the IV must be fixed) and opened through a room
 * key, so both paths meet the same bytes.
 */
export async function runVector(vector: E2eeVector): Promise<Outcome> {
  switch (vector.type) {
    case "key-derivation":
      return { keyHex: toHex(await deriveKeyBytes(vector.passphrase, vector.roomSid, scheme(vector.scheme))) };
    case "livekit-media-key":
      return { keyHex: toHex(await deriveLiveKitMediaKeyBytes(vector.passphrase)) };
    case "message-encrypt": {
      const key = await deriveMessageKey(vector.passphrase, vector.roomSid, scheme(vector.scheme));
      const wire = await encryptMessage(key, fromHex(vector.plaintextHex), fromHex(vector.ivHex));
      const roomKey = await roomKeyFor(vector);
      return { wireHex: toHex(wire), plaintextHex: toHex(await roomKey.decrypt(fromHex(vector.wireHex))) };
    }
    case "message-decrypt-failure": {
      const roomKey = await roomKeyFor(vector);
      try {
        return { decrypted: toHex(await roomKey.decrypt(fromHex(vector.wireHex))) };
      } catch (err) {
        if (err instanceof DecryptionError) return { expect: "decrypt-error" };
        return { error: String(err) };
      }
    }
  }
}

export async function runVectors(vectors: E2eeVector[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const vector of vectors) outcomes.push(await runVector(vector));
  return outcomes;
}

function roomKeyFor(vector: MessageEncryptVector | MessageDecryptFailureVector) {
  return createRoomKey({ passphrase: vector.passphrase, roomSid: vector.roomSid, scheme: scheme(vector.scheme) });
}

function scheme(name: string): KeyDerivation {
  const value = KeyDerivationSchema.values.find((v) => v.name === name);
  if (!value) throw new Error(`vector names unknown scheme ${name}`);
  return value.number;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`not lower-case hex: ${hex}`);
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
