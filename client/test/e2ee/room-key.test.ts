import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import { createRoomKey, DecryptionError, E2eeKeyMissingError, KeyDerivationError } from "../../src/e2ee/index.js";

const options = {
  passphrase: "room key passphrase",
  roomSid: "5d2e8f1a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
  scheme: KeyDerivation.PBKDF2_ROOM_SID,
};
const text = new TextEncoder().encode("hello everyone");

describe("createRoomKey", () => {
  it("lets two participants with the same options read each other's messages", async () => {
    const alice = await createRoomKey(options);
    const bob = await createRoomKey({ ...options });
    expect(await bob.decrypt(await alice.encrypt(text))).toEqual(text);
    expect(await alice.decrypt(await bob.encrypt(text))).toEqual(text);
  });

  it("does not open messages of another room instance or scheme", async () => {
    const wire = await (await createRoomKey(options)).encrypt(text);
    const otherRoom = await createRoomKey({ ...options, roomSid: "5d2e8f1a-3b4c-4d5e-8f6a-7b8c9d0e1f2b" });
    const otherScheme = await createRoomKey({ ...options, scheme: KeyDerivation.SHA256 });
    await expect(otherRoom.decrypt(wire)).rejects.toThrow(DecryptionError);
    await expect(otherScheme.decrypt(wire)).rejects.toThrow(DecryptionError);
  });

  it("hands LiveKit the passphrase itself", async () => {
    expect((await createRoomKey(options)).liveKitPassphrase).toBe(options.passphrase);
  });

  it("rejects an empty passphrase at creation", async () => {
    await expect(createRoomKey({ ...options, passphrase: "" })).rejects.toThrow(KeyDerivationError);
  });

  it("throws E2eeKeyMissingError from every operation after clear()", async () => {
    const key = await createRoomKey(options);
    const wire = await key.encrypt(text);
    key.clear();
    await expect(key.encrypt(text)).rejects.toThrow(E2eeKeyMissingError);
    await expect(key.decrypt(wire)).rejects.toThrow(E2eeKeyMissingError);
    expect(() => key.liveKitPassphrase).toThrow(E2eeKeyMissingError);
    key.clear();
    await expect(key.decrypt(wire)).rejects.toThrow(E2eeKeyMissingError);
  });

  it("keeps keys per object: clearing one leaves another untouched, and a second passphrase is not ignored", async () => {
    const first = await createRoomKey(options);
    const second = await createRoomKey({ ...options, passphrase: "a different passphrase" });
    const wire = await second.encrypt(text);
    await expect(first.decrypt(wire)).rejects.toThrow(DecryptionError);
    first.clear();
    expect(await second.decrypt(wire)).toEqual(text);
    expect(second.liveKitPassphrase).toBe("a different passphrase");
  });
});
