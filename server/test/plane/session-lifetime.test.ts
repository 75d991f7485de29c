import { fromBinary } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { RenewalFailureSchema, RenewalSuccessSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { connectedParticipant, renewOver } from "../support/participants.js";
import { decodeJwtPayload, forgeJwt } from "../support/tokens.js";

// docs/security-gaps.md #9: a session ends at a maximum age however often it is renewed; here tokens live 60 s, sessions 90 s.
const maxSessionSeconds = 90;
const deployment = useTestDeployment((nats) =>
  testConfig(nats, { tokenValidityMs: 60_000, maxSessionMs: maxSessionSeconds * 1000 }),
);

const participant = () => connectedParticipant(deployment, "lifetime", "sam");

const failure = (answer: Awaited<ReturnType<typeof renewOver>>) =>
  answer.msg ? undefined : fromBinary(RenewalFailureSchema, answer.binMsg);
const claimsOf = (token: string) => decodeJwtPayload(token) as { nbf: number; exp: number; auth_time?: number };

describe("the session's maximum age (PNM_MAX_SESSION)", () => {
  it("carries the session's start through renewals, states its end, and renews no token past it", async () => {
    const p = await participant();
    const start = claimsOf(p.token).nbf;
    expect(claimsOf(p.token).auth_time).toBe(start);

    const first = await renewOver(p, p.token);
    expect(failure(first)).toBeUndefined();
    expect(Number(fromBinary(RenewalSuccessSchema, first.binMsg).sessionExpiresAt)).toBe(start + maxSessionSeconds);
    expect(claimsOf(first.msg).auth_time).toBe(start);
    expect(claimsOf(first.msg).exp - claimsOf(first.msg).nbf).toBe(60);

    // A session that began 40 s ago (as its token says, signed with the server's key): the next token ends with the session.
    const now = Math.floor(Date.now() / 1000);
    const older = forgeJwt(
      { alg: "HS256", typ: "JWT" },
      { ...decodeJwtPayload(p.token), nbf: now - 40, exp: now + 20, auth_time: now - 40 },
      deployment.pnm.config.apiSecret,
    );
    const last = await renewOver(p, older);
    expect(failure(last)).toBeUndefined();
    expect(Number(fromBinary(RenewalSuccessSchema, last.binMsg).sessionExpiresAt)).toBe(now - 40 + maxSessionSeconds);
    expect(claimsOf(last.msg)).toMatchObject({ auth_time: now - 40, exp: now - 40 + maxSessionSeconds });

    const refused = failure(await renewOver(p, last.msg));
    expect(refused?.reason).toBe(FailureReason.SESSION_EXPIRED);
    expect(refused?.msg).toMatch(/maximum age/);
    await p.nc.close();
  });

  it("refuses a token whose session started longer ago than the maximum, though the token itself is valid", async () => {
    const p = await participant();
    const claims = decodeJwtPayload(p.token);
    const now = Math.floor(Date.now() / 1000);
    const old = forgeJwt(
      { alg: "HS256", typ: "JWT" },
      { ...claims, nbf: now, exp: now + 60, auth_time: now - maxSessionSeconds - 1 },
      deployment.pnm.config.apiSecret,
    );
    expect(failure(await renewOver(p, old))?.reason).toBe(FailureReason.SESSION_EXPIRED);
    await p.nc.close();
  });

  it("counts the session of a token without auth_time (minted before sessions had a start) from its nbf", async () => {
    const p = await participant();
    const { auth_time: _start, ...claims } = decodeJwtPayload(p.token);
    const now = Math.floor(Date.now() / 1000);
    const legacy = forgeJwt(
      { alg: "HS256", typ: "JWT" },
      { ...claims, nbf: now - 100, exp: now + 10 },
      deployment.pnm.config.apiSecret,
    );
    expect(failure(await renewOver(p, legacy))?.reason).toBe(FailureReason.SESSION_EXPIRED);
    const recent = forgeJwt(
      { alg: "HS256", typ: "JWT" },
      { ...claims, nbf: now, exp: now + 10 },
      deployment.pnm.config.apiSecret,
    );
    const answer = await renewOver(p, recent);
    expect(failure(answer)).toBeUndefined();
    expect(claimsOf(answer.msg).auth_time).toBe(now);
    await p.nc.close();
  });
});
