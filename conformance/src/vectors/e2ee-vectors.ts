import {
  createRoomKey,
  DecryptionError,
  deriveKeyBytes,
  deriveLiveKitMediaKeyBytes,
  deriveMessageKey,
  encryptMessage,
} from "@pnm/client/e2ee";
import { type KeyDerivation, KeyDerivationSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { hexBytes, MalformedVectorError, stringField, toHex, type Vector } from "./vector-file.js";

/** The four e2ee vector types (vectors/README.md, "e2ee.json"), run against the client SDK's E2EE module. */
export async function checkE2eeVector(vector: Vector): Promise<string | undefined> {
  switch (vector.type) {
    case "key-derivation": {
      const key = toHex(
        await deriveKeyBytes(stringField(vector, "passphrase"), stringField(vector, "roomSid"), scheme(vector)),
      );
      return differs("key", key, stringField(vector, "keyHex"));
    }
    case "livekit-media-key":
      return differs(
        "key",
        toHex(await deriveLiveKitMediaKeyBytes(stringField(vector, "passphrase"))),
        stringField(vector, "keyHex"),
      );
    case "message-encrypt": {
      const key = await deriveMessageKey(
        stringField(vector, "passphrase"),
        stringField(vector, "roomSid"),
        scheme(vector),
      );
      const wire = toHex(await encryptMessage(key, hexBytes(vector, "plaintextHex"), hexBytes(vector, "ivHex")));
      const opened = toHex(await (await roomKey(vector)).decrypt(hexBytes(vector, "wireHex")));
      return (
        differs("ciphertext", wire, stringField(vector, "wireHex")) ??
        differs("decrypted plaintext", opened, stringField(vector, "plaintextHex"))
      );
    }
    case "message-decrypt-failure": {
      const key = await roomKey(vector);
      try {
        return `decrypted to ${toHex(await key.decrypt(hexBytes(vector, "wireHex")))} instead of failing`;
      } catch (err) {
        return err instanceof DecryptionError ? undefined : `failed with ${String(err)} instead of a DecryptionError`;
      }
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind e2ee`);
  }
}

function roomKey(vector: Vector) {
  return createRoomKey({
    passphrase: stringField(vector, "passphrase"),
    roomSid: stringField(vector, "roomSid"),
    scheme: scheme(vector),
  });
}

function scheme(vector: Vector): KeyDerivation {
  const name = stringField(vector, "scheme");
  const value = KeyDerivationSchema.values.find((v) => v.name === name);
  if (!value) throw new MalformedVectorError(`unknown scheme ${name}`);
  return value.number;
}

function differs(what: string, actual: string, expected: string): string | undefined {
  return actual === expected ? undefined : `${what} ${actual}, expected ${expected}`;
}
