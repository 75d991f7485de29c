import { KeyDerivationSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { describe, expect, it } from "vitest";
import { loadVectorFile } from "./vector-file.js";
import { type E2eeVector, expectedOutcome, fromHex, runVector } from "./vector-runner.js";

const file = loadVectorFile();

// docs/e2ee.md §12, copied by hand so that regenerating the file cannot drift from it.
const upstreamKeyHex = "d40b820c685dbb0b1f1e3968830a0212f0935c6b65bb0c1c19155947817f1a68";
const upstreamWireHex = "000102030405060708090a0b2cbcbd0e6be919d027ae5c77aa0862cc10bfd19b74fb0cd7d9172aee3cbdb7";

describe("e2ee.json", () => {
  it("declares its schema and kind", () => {
    expect(file.schema).toBe("pnm-vectors/v1");
    expect(file.kind).toBe("e2ee");
    expect(file.vectors.length).toBeGreaterThanOrEqual(16);
  });

  it("has unique kebab-case names, a purpose and a known type on every vector", () => {
    const names = file.vectors.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    const schemes = new Set(KeyDerivationSchema.values.map((v) => v.name));
    for (const v of file.vectors) {
      expect(v.name).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(v.purpose.trim()).not.toBe("");
      expect(["key-derivation", "livekit-media-key", "message-encrypt", "message-decrypt-failure"]).toContain(v.type);
      if ("scheme" in v) expect(schemes).toContain(v.scheme);
      for (const [field, value] of Object.entries(v)) {
        if (field.endsWith("Hex")) expect(() => fromHex(value as string), `${v.name}.${field}`).not.toThrow();
      }
    }
  });

  it("covers every scheme and every vector type", () => {
    const schemes = new Set(file.vectors.flatMap((v) => ("scheme" in v ? [v.scheme] : [])));
    expect([...schemes].sort()).toEqual(KeyDerivationSchema.values.map((v) => v.name).sort());
    const types = new Set(file.vectors.map((v) => v.type));
    expect(types.size).toBe(4);
  });

  it("contains the upstream reference vector verbatim", () => {
    const key = file.vectors.find(
      (v) =>
        v.type === "key-derivation" && v.scheme === "KEY_DERIVATION_PBKDF2_ROOM_SID" && v.keyHex === upstreamKeyHex,
    );
    expect(key).toMatchObject({
      passphrase: "correct horse battery staple",
      roomSid: "00000000-0000-4000-8000-000000000000",
    });
    const message = file.vectors.find((v) => v.type === "message-encrypt" && v.wireHex === upstreamWireHex);
    expect(message).toMatchObject({
      scheme: "KEY_DERIVATION_PBKDF2_ROOM_SID",
      passphrase: "correct horse battery staple",
      roomSid: "00000000-0000-4000-8000-000000000000",
      ivHex: "000102030405060708090a0b",
      plaintextHex: "68656c6c6f20706c75674e6d656574",
    });
  });

  it("includes each failure class", () => {
    const failures = file.vectors.filter((v) => v.type === "message-decrypt-failure").map((v) => v.name);
    for (const name of [
      "flipped-tag-bit",
      "flipped-ciphertext-bit",
      "truncated-tag",
      "too-short",
      "wrong-passphrase",
      "other-room-sid",
    ]) {
      expect(failures).toContain(name);
    }
  });
});

describe("e2ee vectors in Node", () => {
  it.each(file.vectors.map((v): [string, E2eeVector] => [v.name, v]))("%s", async (_name, vector) => {
    expect(await runVector(vector)).toEqual(expectedOutcome(vector));
  });
});
