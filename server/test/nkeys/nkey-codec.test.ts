import { createAccount, createCurve, createOperator, createServer, createUser, type KeyPair } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import {
  decodeNkeyPublic,
  decodeNkeySeed,
  encodeNkeyPublic,
  NkeyCodecError,
  type NkeyKind,
} from "../../src/nkeys/nkey-codec.js";

const makers: [NkeyKind, () => KeyPair][] = [
  ["O", createOperator],
  ["N", createServer],
  ["A", createAccount],
  ["U", createUser],
  ["X", createCurve],
];

describe("nkey codec", () => {
  it.each(makers)("round-trips %s keys and seeds made by @nats-io/nkeys", (kind, make) => {
    for (let i = 0; i < 20; i++) {
      const pair = make();
      const publicKey = pair.getPublicKey();
      const decoded = decodeNkeyPublic(publicKey);
      expect(decoded.kind).toBe(kind);
      expect(encodeNkeyPublic(kind, decoded.raw)).toBe(publicKey);
      const seed = decodeNkeySeed(pair.getSeed());
      expect(seed.kind).toBe(kind);
      expect(seed.raw).toHaveLength(32);
    }
  });

  it("rejects corrupted keys and the wrong form", () => {
    const pair = createUser();
    const publicKey = pair.getPublicKey();
    const flipped = publicKey.slice(0, 10) + (publicKey[10] === "A" ? "B" : "A") + publicKey.slice(11);
    expect(() => decodeNkeyPublic(flipped)).toThrow(NkeyCodecError);
    expect(() => decodeNkeyPublic(publicKey.toLowerCase())).toThrow(NkeyCodecError);
    expect(() => decodeNkeyPublic(new TextDecoder().decode(pair.getSeed()))).toThrow(NkeyCodecError);
    expect(() => decodeNkeySeed(publicKey)).toThrow(NkeyCodecError);
    expect(() => decodeNkeySeed("")).toThrow(NkeyCodecError);
  });
});
