import { randomBytes } from "node:crypto";
import { type AuthorizationResponse, decode, encodeAuthorizationResponse, encodeUser, type User } from "@nats-io/jwt";
import {
  createAccount,
  createCurve,
  createOperator,
  createServer,
  createUser,
  fromSeed,
  type KeyPair,
  NKeysError,
} from "@nats-io/nkeys";
import { describe, expect, it, vi } from "vitest";
import { createNativeSigner, NativeSignerError } from "../../src/nkeys/native-signer.js";

const text = new TextDecoder();

describe("native signer", () => {
  it.each([
    ["account", createAccount],
    ["user", createUser],
    ["server", createServer],
    ["operator", createOperator],
  ] as [string, () => KeyPair][])("signs %s keys byte-identically to @nats-io/nkeys", (_, make) => {
    for (let i = 0; i < 5; i++) {
      const reference = make();
      const native = createNativeSigner(reference.getSeed());
      expect(native.getPublicKey()).toBe(reference.getPublicKey());
      expect(text.decode(native.getPrivateKey())).toBe(text.decode(reference.getPrivateKey()));
      expect(text.decode(native.getSeed())).toBe(text.decode(reference.getSeed()));
      for (const size of [0, 1, 64, 600, 4096]) {
        const input = randomBytes(size);
        const signature = native.sign(input);
        expect(Buffer.from(signature).equals(Buffer.from(reference.sign(input)))).toBe(true);
        expect(native.verify(input, signature)).toBe(true);
        expect(reference.verify(input, signature)).toBe(true);
        signature[0] ^= 1;
        expect(native.verify(input, signature)).toBe(false);
      }
    }
  });

  it("accepts the seed as a string or bytes", () => {
    const reference = createAccount();
    const seed = text.decode(reference.getSeed());
    expect(createNativeSigner(seed).getPublicKey()).toBe(reference.getPublicKey());
  });

  it("refuses curve seeds and garbage", () => {
    expect(() => createNativeSigner(createCurve().getSeed())).toThrow(NativeSignerError);
    expect(() => createNativeSigner("SUNOTASEED")).toThrow(NativeSignerError);
  });

  it("behaves like a cleared nkeys pair after clear()", () => {
    const native = createNativeSigner(createUser().getSeed());
    native.clear();
    expect(() => native.sign(new Uint8Array(1))).toThrow(NKeysError);
    expect(() => native.getSeed()).toThrow(NKeysError);
    expect(() => native.getPublicKey()).toThrow(NKeysError);
  });

  it("works as issuer for encodeUser and encodeAuthorizationResponse", async () => {
    const issuerPair = createAccount();
    const issuer = createNativeSigner(issuerPair.getSeed());
    const user = createUser();
    const server = createServer();
    const userJwt = await encodeUser(
      "alice",
      user,
      issuer,
      { pub: { allow: ["chat.r1"] } },
      { aud: "PNM", exp: 4_000_000_000 },
    );
    const userClaims = decode<User>(userJwt);
    expect(userClaims.iss).toBe(issuerPair.getPublicKey());
    expect(userClaims.sub).toBe(user.getPublicKey());
    expect(userClaims.aud).toBe("PNM");
    expect(userClaims.nats.pub?.allow).toEqual(["chat.r1"]);

    const response = await encodeAuthorizationResponse(user, server, issuer, { jwt: userJwt }, {});
    const responseClaims = decode<AuthorizationResponse>(response);
    expect(responseClaims.iss).toBe(issuerPair.getPublicKey());
    expect(responseClaims.aud).toBe(server.getPublicKey());
    expect(responseClaims.nats.jwt).toBe(userJwt);

    // Same claims, key and iat give the same token from either signer (Ed25519 is deterministic).
    vi.useFakeTimers({ toFake: ["Date"], now: 1_800_000_000_000 });
    try {
      const viaNative = await encodeUser("bob", user.getPublicKey(), issuer, {}, { aud: "PNM" });
      const viaNkeys = await encodeUser("bob", user.getPublicKey(), fromSeed(issuerPair.getSeed()), {}, { aud: "PNM" });
      expect(viaNative).toBe(viaNkeys);
    } finally {
      vi.useRealTimers();
    }
  });
});
