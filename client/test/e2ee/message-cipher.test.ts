import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import { DecryptionError, decryptMessage, deriveMessageKey, encryptMessage } from "../../src/e2ee/index.js";

const roomSid = "0c9f3e52-8a71-4d2b-9b6e-2f4a5c7d8e10";
const key = await deriveMessageKey("message cipher passphrase", roomSid, KeyDerivation.PBKDF2_ROOM_SID);
const otherKey = await deriveMessageKey("another passphrase", roomSid, KeyDerivation.PBKDF2_ROOM_SID);
const text = new TextEncoder().encode("a chat message for the room");

async function decryptionError(promise: Promise<unknown>): Promise<DecryptionError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecryptionError);
  return err as DecryptionError;
}

describe("encryptMessage / decryptMessage", () => {
  it.each([0, 1, 15, 16, 17, 1000, 65_536])("round-trips %i bytes with 28 bytes of overhead", async (size) => {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const wire = await encryptMessage(key, plaintext);
    expect(wire).toHaveLength(size + 28);
    expect(await decryptMessage(key, wire)).toEqual(plaintext);
  });

  it("uses a fresh random IV for every message", async () => {
    const wires = await Promise.all(Array.from({ length: 50 }, () => encryptMessage(key, text)));
    const ivs = new Set(wires.map((w) => Buffer.from(w.subarray(0, 12)).toString("hex")));
    expect(ivs.size).toBe(wires.length);
    expect(new Set(wires.map((w) => Buffer.from(w).toString("hex"))).size).toBe(wires.length);
  });

  it("puts the given IV first and is deterministic with it", async () => {
    const iv = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
    const a = await encryptMessage(key, text, iv);
    expect(a.subarray(0, 12)).toEqual(iv);
    expect(await encryptMessage(key, text, iv)).toEqual(a);
  });

  it("rejects an IV that is not 12 bytes", async () => {
    await expect(encryptMessage(key, text, new Uint8Array(16))).rejects.toThrow(RangeError);
  });

  it("reads a wire that is a view into a larger buffer", async () => {
    const wire = await encryptMessage(key, text);
    const padded = new Uint8Array(wire.length + 10);
    padded.set(wire, 5);
    expect(await decryptMessage(key, padded.subarray(5, 5 + wire.length))).toEqual(text);
  });

  it("fails with DecryptionError, carrying the WebCrypto cause, under another key", async () => {
    const err = await decryptionError(decryptMessage(otherKey, await encryptMessage(key, text)));
    expect(err.name).toBe("DecryptionError");
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("fails on a single flipped bit anywhere in the wire", async () => {
    const wire = await encryptMessage(key, text);
    for (let i = 0; i < wire.length; i++) {
      const tampered = wire.slice();
      tampered[i]! ^= 1 << (i % 8);
      await decryptionError(decryptMessage(key, tampered));
    }
  });

  it("fails when truncated at any length", async () => {
    const wire = await encryptMessage(key, text);
    for (let length = 0; length < wire.length; length++) {
      await decryptionError(decryptMessage(key, wire.subarray(0, length)));
    }
  });

  it("refuses fewer than 28 bytes before calling WebCrypto", async () => {
    const err = await decryptionError(decryptMessage(key, new Uint8Array(27)));
    expect(err.cause).toBeUndefined();
    expect(err.message).toMatch(/27 bytes/);
  });

  // Under Node messages go through node:crypto on the CryptoKey's bytes; WebCrypto itself is the reference.
  it.each([0, 1, 16, 1024, 65_536])("seals %i bytes exactly as WebCrypto does, and opens WebCrypto's", async (size) => {
    const plaintext = crypto.getRandomValues(new Uint8Array(size));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const web = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, plaintext));
    const wire = new Uint8Array(12 + web.length);
    wire.set(iv);
    wire.set(web, 12);
    expect(await encryptMessage(key, plaintext, iv)).toEqual(wire);
    expect(await decryptMessage(key, wire)).toEqual(plaintext);
  });

  it("uses an AES-128-GCM key as WebCrypto does", async () => {
    const short = await crypto.subtle.importKey("raw", new Uint8Array(16).fill(7), "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    const iv = new Uint8Array(12).fill(1);
    const web = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, short, text));
    expect((await encryptMessage(short, text, iv)).subarray(12)).toEqual(web);
  });

  it("refuses a key without the usage, as WebCrypto does", async () => {
    const raw = new Uint8Array(32).fill(3);
    const encryptOnly = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
    const decryptOnly = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    const wire = await encryptMessage(encryptOnly, text);
    expect(await decryptMessage(decryptOnly, wire)).toEqual(text);
    await expect(encryptMessage(decryptOnly, text)).rejects.toThrow();
    await decryptionError(decryptMessage(encryptOnly, wire));
  });
});
