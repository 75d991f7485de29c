import {
  Algorithms,
  type ClaimsData,
  decode,
  encode,
  encodeAuthorizationResponse,
  encodeUser,
  type KeyPair,
} from "@nats-io/jwt";
import { createAccount, createServer, createUser } from "@nats-io/nkeys";
import { describe, expect, it } from "vitest";
import { NatsJwtError, verifyNatsJwt } from "../../src/nkeys/native-signer.js";

const audience = "nats-authorization-request";

/**
 * Signs claims as the Go jwt library does (UTF-8 JSON, v2, header and payload
 * signed); @nats-io/jwt's encode cannot, as its btoa throws beyond Latin-1.
 */
function signV2(claims: Record<string, unknown>, issuer: KeyPair): string {
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
  const signed = `${segment({ typ: "JWT", alg: "ed25519-nkey" })}.${segment({ ...claims, iss: issuer.getPublicKey() })}`;
  return `${signed}.${Buffer.from(issuer.sign(Buffer.from(signed))).toString("base64url")}`;
}

/** A token shaped like the nats-server's authorization request, signed by a server key. */
function serverRequest(server: KeyPair, extra: { exp?: number; nbf?: number; token?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signV2(
    {
      aud: audience,
      exp: extra.exp ?? now + 5,
      ...(extra.nbf === undefined ? {} : { nbf: extra.nbf }),
      iat: now,
      jti: "J",
      sub: createAccount().getPublicKey(),
      nats: {
        server_id: { name: "n1", host: "127.0.0.1", id: server.getPublicKey() },
        user_nkey: createUser().getPublicKey(),
        connect_opts: { auth_token: extra.token ?? "tok", protocol: 1 },
        type: "authorization_request",
        version: 2,
      },
    },
    server,
  );
}

function reencodePayload(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  edit(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

describe("verifyNatsJwt", () => {
  it("returns the same claims as @nats-io/jwt decode for server and account issuers", async () => {
    const server = createServer();
    const request = serverRequest(server);
    expect(verifyNatsJwt(request, { audience })).toEqual(decode(request));
    const response = await encodeAuthorizationResponse(createUser(), server, createAccount(), { error: "no" }, {});
    expect(verifyNatsJwt(response)).toEqual(decode(response));
  });

  it("rejects tampered payloads and signatures", async () => {
    const token = serverRequest(createServer());
    const tampered = reencodePayload(token, (claims) => {
      (claims.nats as { user_nkey: string }).user_nkey = createUser().getPublicKey();
    });
    expect(() => decode(tampered)).toThrow();
    expect(() => verifyNatsJwt(tampered)).toThrow(NatsJwtError);

    const [header, payload, signature] = token.split(".");
    const flipped = Buffer.from(signature, "base64url");
    flipped[10] ^= 0x40;
    expect(() => verifyNatsJwt(`${header}.${payload}.${flipped.toString("base64url")}`)).toThrow(/signature/);
    expect(() => verifyNatsJwt(`${header}.${payload}.${signature.slice(0, 40)}`)).toThrow(/signature/);
  });

  it("rejects an issuer swapped for another server key", async () => {
    const token = serverRequest(createServer());
    const swapped = reencodePayload(token, (claims) => {
      claims.iss = createServer().getPublicKey();
    });
    expect(() => verifyNatsJwt(swapped)).toThrow(/signature/);
  });

  it("rejects user-issued, v1 and malformed tokens that decode may accept", async () => {
    const user = createUser();
    const claims = { aud: audience, name: "", sub: user.getPublicKey(), nats: {} } as unknown as ClaimsData<unknown>;
    const byUser = await encode(Algorithms.v2, { ...claims }, user);
    expect(decode(byUser).iss).toBe(user.getPublicKey());
    expect(() => verifyNatsJwt(byUser)).toThrow(/server or account/);

    const v1 = await encode(Algorithms.v1, { ...claims }, createServer());
    expect(decode(v1).aud).toBe(audience);
    expect(() => verifyNatsJwt(v1)).toThrow(/alg/);

    for (const malformed of ["", "a.b", "a.b.c.d", "e30.e30.!!!", "e30.e30.e30"]) {
      expect(() => verifyNatsJwt(malformed)).toThrow(NatsJwtError);
    }
  });

  it("checks exp, nbf and the audience it is given", async () => {
    const server = createServer();
    const now = Math.floor(Date.now() / 1000);
    const expired = serverRequest(server, { exp: now - 10 });
    expect(() => verifyNatsJwt(expired)).toThrow(/expired/);
    expect(verifyNatsJwt(expired, { nowSeconds: now - 20 }).iss).toBe(server.getPublicKey());
    const early = serverRequest(server, { nbf: now + 60 });
    expect(() => verifyNatsJwt(early)).toThrow(/not yet valid/);
    const request = serverRequest(server);
    expect(() => verifyNatsJwt(request, { audience: "NATS" })).toThrow(/audience/);
  });

  it("decodes UTF-8 claims as UTF-8, where decode yields Latin-1 mojibake", async () => {
    const token = serverRequest(createServer(), { token: "tök ✓" });
    type Request = { connect_opts: { auth_token: string } };
    expect(verifyNatsJwt<Request>(token).nats.connect_opts?.auth_token).toBe("tök ✓");
    expect(decode<Request>(token).nats.connect_opts?.auth_token).not.toBe("tök ✓");
    // So user JWT names the callout encodes must stay within ASCII.
    await expect(encodeUser("✓", createUser(), createAccount())).rejects.toThrow();
  });
});
