import { randomBytes } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  BlockedError,
  joinSession,
  type ParticipantSession,
  RemovedError,
  RoomEndedError,
  type SessionError,
} from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { createParticipantClient } from "@pnm/client/protocol";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { beforeAll, describe, expect, it } from "vitest";
import { createRoomStore, userKey } from "../../src/store/room-store.js";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, testConfig, useTestDeployment } from "../support/harness.js";
import { issueToken, request, waitFor } from "../support/participants.js";
import { decodeJwtPayload } from "../support/tokens.js";

const livekit = { url: "ws://127.0.0.1:7880", apiKey: "lk-test", apiSecret: randomBytes(32).toString("base64url") };
const deployment = useTestDeployment((nats) => testConfig(nats, { livekit, tokenValidityMs: 90_000 }));
let observer: NatsConnection;
beforeAll(async () => {
  observer = await deployment.nats.connect();
});

let counter = 0;
async function room(features = {}) {
  const roomId = `life-${++counter}`;
  await deployment.rooms.createRoom({ roomId, metadata: { roomTitle: "L", roomFeatures: features } });
  return roomId;
}
const join = async (roomId: string, userId: string, renewal?: { at: number; jitter: number }) =>
  joinSession({
    baseUrl: deployment.pnm.server.url,
    token: await issueToken(deployment.rooms, roomId, userId),
    webSocket: nodeWebSocket,
    renewal,
  });
const endedWith = (session: ParticipantSession) => new Promise<SessionError>((resolve) => session.on("ended", resolve));

describe("session lifecycle", () => {
  it.each([
    [
      "removal",
      (roomId: string) => deployment.rooms.removeParticipant({ roomId, userId: "ivan" }),
      RemovedError,
      FailureReason.USER_REMOVED,
    ],
    [
      "blocking",
      (roomId: string) => deployment.rooms.removeParticipant({ roomId, userId: "ivan", blockUser: true }),
      BlockedError,
      FailureReason.USER_BLOCKED,
    ],
    ["room end", (roomId: string) => deployment.rooms.endRoom({ roomId }), RoomEndedError, FailureReason.ROOM_ENDED],
  ] as const)("reports %s as a typed error and clears the key", async (_name, act, ErrorClass, reason) => {
    const roomId = await room({ endToEndEncryptionFeatures: { isEnabled: true } });
    const session = await join(roomId, "ivan");
    const ended = endedWith(session);
    await act(roomId);
    const error = await ended;
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error.reason).toBe(reason);
    expect(() => session.liveKitPassphrase()).toThrow();
    await expect(session.sendChat("after the end")).rejects.toThrow();
  });

  it("renews its token before expiry and uses the new one for API calls", async () => {
    const roomId = await room();
    // Renew at 1 % of the 90 s lifetime: within a second.
    const session = await join(roomId, "judy", { at: 0.01, jitter: 0 });
    const first = session.token();
    const renewed = await new Promise<string>((resolve) => session.on("renewed", resolve));
    expect(renewed).not.toBe(first);
    expect(session.token()).toBe(renewed);
    expect(decodeJwtPayload(renewed).jti).not.toBe(decodeJwtPayload(first).jti);
    const api = createParticipantClient({ baseUrl: deployment.pnm.server.url, token: () => session.token() });
    await expect(api.verifyToken({})).rejects.toThrow(/already online/);
    await session.leave();
  });

  it("reconnects to NATS when its connection drops, after a renewal", async () => {
    const roomId = await room();
    const session = await join(roomId, "mona", { at: 0.01, jitter: 0 });
    const first = session.token();
    await new Promise<string>((resolve) => session.on("renewed", resolve));
    const seats = await createRoomStore({ nc: observer });
    const before = (await seats.seats.get(userKey(roomId, "mona")))!.value.seat!;
    // As when the NATS user JWT of the old token expires: the server drops the connection.
    const system = await deployment.nats.connectSystem();
    await system.request(`$SYS.REQ.SERVER.${before.serverId}.KICK`, JSON.stringify({ cid: before.cid }));
    const after = await waitFor(async () => {
      const seat = (await seats.seats.get(userKey(roomId, "mona")))?.value.seat;
      return seat && seat.cid !== before.cid && seat.state === "connected" ? seat : undefined;
    });
    expect(after.cid).not.toBe(before.cid);
    const peer = await join(roomId, "nina");
    const got: string[] = [];
    session.on("chat", (m) => void got.push(m.message));
    await peer.sendChat("still there?");
    await waitFor(() => got.length);
    expect(got).toEqual(["still there?"]);
    expect(session.token()).not.toBe(first);
    await Promise.all([session.leave(), peer.leave()]);
  });
});

describe("LiveKit media tokens", () => {
  const mediaRequest = (roomId: string, userId: string) =>
    request(
      observer,
      roomId,
      userId,
      NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA,
      "",
      NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA,
    );
  const refusal = (answer: Awaited<ReturnType<typeof mediaRequest>>) =>
    answer.msg ? undefined : fromBinary(ErrorDetailSchema, answer.binMsg).reason;

  it("refuses a blocked user", async () => {
    const roomId = await room();
    await issueToken(deployment.rooms, roomId, "blocked");
    await deployment.rooms.removeParticipant({ roomId, userId: "blocked", blockUser: true });
    expect(refusal(await mediaRequest(roomId, "blocked"))).toBe(FailureReason.USER_BLOCKED);
  });

  it("refuses anyone once the room has ended", async () => {
    const roomId = await room();
    await issueToken(deployment.rooms, roomId, "late");
    expect(refusal(await mediaRequest(roomId, "late"))).toBeUndefined();
    await deployment.rooms.endRoom({ roomId });
    expect(refusal(await mediaRequest(roomId, "late"))).toBe(FailureReason.ROOM_NOT_ACTIVE);
  });

  it("joins a session without media on a server without LiveKit", async () => {
    const ownNats = await startTestNats();
    const bare = await startTestServer(ownNats);
    try {
      const bareRooms = signedClient(bare.server.url, bare.config.apiKey, bare.config.apiSecret, "connect");
      await bareRooms.createRoom({ roomId: "no-media", metadata: { roomTitle: "n", roomFeatures: {} } });
      const session = await joinSession({
        baseUrl: bare.server.url,
        token: await issueToken(bareRooms, "no-media", "solo"),
        webSocket: nodeWebSocket,
      });
      expect(session.media).toBeUndefined();
      await session.leave();
    } finally {
      await bare.close();
      await ownNats.stop();
    }
  });
});
