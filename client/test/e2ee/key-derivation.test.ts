import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import {
  deriveKeyBytes,
  deriveLiveKitMediaKeyBytes,
  deriveMessageKey,
  KeyDerivationError,
} from "../../src/e2ee/index.js";

const roomSid = "6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const schemes = [
  KeyDerivation.UNSPECIFIED,
  KeyDerivation.PBKDF2_ROOM_SID,
  KeyDerivation.SHA256,
  KeyDerivation.PBKDF2_600K,
];
const named = (list: KeyDerivation[]): [string, KeyDerivation][] => list.map((s) => [KeyDerivation[s], s]);

describe("deriveKeyBytes", () => {
  it("matches node:crypto for random passphrases under the fast schemes", async () => {
    for (let i = 0; i < 5; i++) {
      const passphrase = randomBytes(12).toString("base64");
      expect(Buffer.from(await deriveKeyBytes(passphrase, roomSid, KeyDerivation.PBKDF2_ROOM_SID))).toEqual(
        pbkdf2Sync(passphrase, roomSid, 100_000, 32, "sha256"),
      );
      expect(Buffer.from(await deriveKeyBytes(passphrase, roomSid, KeyDerivation.SHA256))).toEqual(
        createHash("sha256").update(passphrase, "utf8").digest(),
      );
    }
  });

  it("gives four schemes three distinct keys, with unspecified equal to the room-SID scheme", async () => {
    const [unspecified, roomSidKey, sha256, hardened] = await Promise.all(
      schemes.map(async (s) => Buffer.from(await deriveKeyBytes("passphrase", roomSid, s)).toString("hex")),
    );
    expect(unspecified).toBe(roomSidKey);
    expect(new Set([roomSidKey, sha256, hardened]).size).toBe(3);
  });

  it.each(named(schemes))("refuses an empty passphrase (%s)", async (_name, scheme) => {
    await expect(deriveKeyBytes("", roomSid, scheme)).rejects.toThrow(KeyDerivationError);
  });

  it.each(named([KeyDerivation.UNSPECIFIED, KeyDerivation.PBKDF2_ROOM_SID, KeyDerivation.PBKDF2_600K]))(
    "refuses an empty room SID where it is the salt (%s)",
    async (_name, scheme) => {
      await expect(deriveKeyBytes("passphrase", "", scheme)).rejects.toThrow(KeyDerivationError);
    },
  );

  it("needs no room SID for the SHA-256 scheme", async () => {
    expect(await deriveKeyBytes("passphrase", "", KeyDerivation.SHA256)).toHaveLength(32);
  });

  it("refuses a scheme it does not know", async () => {
    await expect(deriveKeyBytes("passphrase", roomSid, 99 as KeyDerivation)).rejects.toThrow(KeyDerivationError);
  });
});

describe("deriveMessageKey", () => {
  it("returns a non-extractable AES-256-GCM key for encrypt and decrypt only", async () => {
    const key = await deriveMessageKey("passphrase", roomSid, KeyDerivation.PBKDF2_ROOM_SID);
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toEqual({ name: "AES-GCM", length: 256 });
    expect([...key.usages].sort()).toEqual(["decrypt", "encrypt"]);
    await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
  });

  it("refuses an empty passphrase", async () => {
    await expect(deriveMessageKey("", roomSid, KeyDerivation.PBKDF2_ROOM_SID)).rejects.toThrow(KeyDerivationError);
  });
});

describe("deriveLiveKitMediaKeyBytes", () => {
  it("derives livekit-client's 16-byte frame key, independent of the room", async () => {
    expect(Buffer.from(await deriveLiveKitMediaKeyBytes("passphrase"))).toEqual(
      pbkdf2Sync("passphrase", "LKFrameEncryptionKey", 100_000, 16, "sha256"),
    );
  });

  it("differs from the message key of the same passphrase", async () => {
    const media = Buffer.from(await deriveLiveKitMediaKeyBytes("passphrase"));
    const message = Buffer.from(await deriveKeyBytes("passphrase", roomSid, KeyDerivation.PBKDF2_ROOM_SID));
    expect(message.subarray(0, 16).equals(media)).toBe(false);
  });

  it("refuses an empty passphrase", async () => {
    await expect(deriveLiveKitMediaKeyBytes("")).rejects.toThrow(KeyDerivationError);
  });
});
