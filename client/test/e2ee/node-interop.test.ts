import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import { decryptMessage, deriveKeyBytes, deriveMessageKey, encryptMessage } from "../../src/e2ee/index.js";

const passphrase = "interop passphrase";
const roomSid = "a7b8c9d0-e1f2-4a3b-9c4d-5e6f7a8b9c0d";

// node:crypto is an independent AES-GCM implementation: agreeing with it in
// both directions shows the wire layout, not just self-consistency.
const schemes = [KeyDerivation.PBKDF2_ROOM_SID, KeyDerivation.SHA256, KeyDerivation.PBKDF2_600K];

describe.each(schemes.map((s): [string, KeyDerivation] => [KeyDerivation[s], s]))("%s", (_name, scheme) => {
  it("produces wire bytes that node:crypto aes-256-gcm decrypts", async () => {
    const rawKey = await deriveKeyBytes(passphrase, roomSid, scheme);
    const key = await deriveMessageKey(passphrase, roomSid, scheme);
    const plaintext = randomBytes(77);
    const wire = Buffer.from(await encryptMessage(key, plaintext));

    const decipher = createDecipheriv("aes-256-gcm", rawKey, wire.subarray(0, 12));
    decipher.setAuthTag(wire.subarray(wire.length - 16));
    expect(Buffer.concat([decipher.update(wire.subarray(12, wire.length - 16)), decipher.final()])).toEqual(plaintext);
  });

  it("decrypts wire bytes that node:crypto aes-256-gcm produced", async () => {
    const rawKey = await deriveKeyBytes(passphrase, roomSid, scheme);
    const key = await deriveMessageKey(passphrase, roomSid, scheme);
    const plaintext = randomBytes(33);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", rawKey, iv);
    const wire = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);

    expect(Buffer.from(await decryptMessage(key, wire))).toEqual(plaintext);
  });
});
