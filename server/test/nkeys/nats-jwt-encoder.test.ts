import { encodeAuthorizationResponse, encodeUser, type User } from "@nats-io/jwt";
import { createAccount, createServer, createUser } from "@nats-io/nkeys";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createNativeSigner, verifyNatsJwt } from "../../src/nkeys/native-signer.js";
import { encodeAuthorizationResponseJwt, encodeUserJwt, NatsJwtEncodeError } from "../../src/nkeys/nats-jwt-encoder.js";

afterEach(() => vi.restoreAllMocks());

/** The same second for both encoders, so that their `iat` (and so `jti` and the signature) agree. */
const atFixedTime = () => vi.spyOn(Date, "now").mockReturnValue(1_790_000_000_123);

const account = createAccount();
const issuer = createNativeSigner(new TextDecoder().decode(account.getSeed()));
const permissions: Partial<User> = {
  pub: { allow: ["chat.room.user", "sysJsWorker.room.user"] },
  sub: { allow: ["chat.room.>", "_INBOX_room_user.>"] },
  allowed_connection_types: ["WEBSOCKET"],
};

describe("the auth callout's JWT encoders", () => {
  it("sign a user JWT byte for byte as @nats-io/jwt's encodeUser", async () => {
    const user = createUser().getPublicKey();
    atFixedTime();
    const options = { aud: "PNM", exp: 1_790_000_300 };
    const ours = encodeUserJwt("room/user", user, issuer, permissions, options);
    expect(ours).toBe(await encodeUser("room/user", user, issuer, permissions, { ...options }));
    // And one without an expiry or audience.
    expect(encodeUserJwt("u", user, issuer, {})).toBe(await encodeUser("u", user, issuer, {}, {}));
  });

  it("sign an authorization response byte for byte as encodeAuthorizationResponse, for a JWT and for an error", async () => {
    const user = createUser().getPublicKey();
    const server = createServer().getPublicKey();
    atFixedTime();
    for (const data of [{ jwt: "a.b.c" }, { error: "ROOM_FULL: the room is full" }]) {
      expect(encodeAuthorizationResponseJwt(user, server, issuer, data)).toBe(
        await encodeAuthorizationResponse(user, server, issuer, { ...data }, {}),
      );
    }
  });

  it("write names beyond Latin-1 as UTF-8, which verify", () => {
    const token = encodeUserJwt("Zoë 会议/ümit", createUser().getPublicKey(), issuer, {});
    expect(verifyNatsJwt<unknown>(token).name).toBe("Zoë 会议/ümit");
  });

  it("refuse keys of the wrong kind", () => {
    const user = createUser().getPublicKey();
    const server = createServer().getPublicKey();
    expect(() => encodeUserJwt("u", server, issuer, {})).toThrow(NatsJwtEncodeError);
    expect(() => encodeUserJwt("u", "UNOTAKEY", issuer, {})).toThrow(NatsJwtEncodeError);
    expect(() => encodeAuthorizationResponseJwt(user, user, issuer, { error: "x" })).toThrow(NatsJwtEncodeError);
    expect(() => encodeAuthorizationResponseJwt(server, server, issuer, { error: "x" })).toThrow(NatsJwtEncodeError);
  });
});
