import { fromBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { beforeAll, describe, expect, it } from "vitest";
import { createAccessTokenCodec } from "../../src/auth/access-token.js";
import { useTestDeployment } from "../support/harness.js";
import { connectedParticipant, renewOver, request } from "../support/participants.js";
import { decodeJwtPayload, forgeJwt } from "../support/tokens.js";

const deployment = useTestDeployment(); // renewal grace: 30 s
let observer: NatsConnection;
beforeAll(async () => {
  observer = await deployment.nats.connect();
});

const participant = () => connectedParticipant(deployment, "renew", "frank");

const failure = (answer: Awaited<ReturnType<typeof renewOver>>) =>
  answer.msg ? undefined : fromBinary(RenewalFailureSchema, answer.binMsg).reason;
const shifted = (token: string, seconds: number) => {
  const claims = decodeJwtPayload(token);
  return forgeJwt(
    { alg: "HS256", typ: "JWT" },
    { ...claims, nbf: (claims.nbf as number) + seconds, exp: (claims.exp as number) + seconds },
    deployment.pnm.config.apiSecret,
  );
};

describe("token renewal over NATS", () => {
  it("renews a token that expired within the grace period", async () => {
    const p = await participant();
    const expired = shifted(p.token, -600 - 70); // expired 70 s ago, past the 60 s leeway, within 30 s grace on top
    const answer = await renewOver(p, expired);
    expect(failure(answer)).toBeUndefined();
    expect(createAccessTokenCodec(deployment.pnm.config).verify(answer.msg).sub).toBe(p.userId);
    await p.nc.close();
  });

  it("refuses a token past the grace period, with an explicit answer", async () => {
    const p = await participant();
    expect(failure(await renewOver(p, shifted(p.token, -600 - 200)))).toBe(FailureReason.TOKEN_EXPIRED);
    await p.nc.close();
  });

  it("refuses a blocked user (a request left in flight when the block closed the connection)", async () => {
    const p = await participant();
    await deployment.rooms.removeParticipant({ roomId: p.roomId, userId: p.userId, blockUser: true });
    // The user's own connection is gone; the request arrives as it would have from it.
    const answer = await request(
      observer,
      p.roomId,
      p.userId,
      NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
      p.token,
      NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
    );
    expect(failure(answer)).toBe(FailureReason.USER_BLOCKED);
  });
});
