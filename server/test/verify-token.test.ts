import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createNodeHttp2Client } from "@pnm/client/node";
import { createParticipantClient } from "@pnm/client/protocol";
import { CommonResponseSchema, ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { VerifyTokenRequestSchema, VerifyTokenResponseSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyRoomSeats } from "../src/rooms/seats.js";
import { createRoomStore, type RoomStore, userKey } from "../src/store/room-store.js";
import { signedClient } from "./support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer } from "./support/harness.js";
import { decodeJwtPayload, forgeJwt } from "./support/tokens.js";

let nats: TestNats;
let pnm: TestServer;
let store: RoomStore;
/** The test's nats-server, as a seat names it: connections on it count as there. */
let serverId: string;
/** A nats-server that has gone from the deployment (killed outright: it sent no DISCONNECT for its clients). */
const goneServerId = "NGONE0000000000000000000000000000000000000000000000000000";
beforeAll(async () => {
  nats = await startTestNats();
  pnm = await startTestServer(nats);
  const nc = await nats.connect();
  serverId = nc.info!.server_id;
  store = await createRoomStore({ nc });
});
afterAll(async () => {
  await pnm?.close();
  await nats?.stop();
});

let counter = 0;
async function joinToken(options: { maxParticipants?: number; selfInsert?: boolean } = {}) {
  const roomId = `verify-${++counter}`;
  const rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
  const created = await rooms.createRoom({
    roomId,
    maxParticipants: options.maxParticipants,
    metadata: {
      roomTitle: "V",
      roomFeatures: {
        endToEndEncryptionFeatures: {
          isEnabled: Boolean(options.selfInsert),
          enabledSelfInsertEncryptionKey: Boolean(options.selfInsert),
        },
      },
    },
  });
  const { token } = await rooms.getJoinToken({ roomId, userInfo: { name: "Carol", userId: "carol" } });
  return { roomId, roomSid: created.roomInfo!.sid, token: token!, rooms };
}

/**
 * Seats are taken at the auth callout; these tests take them directly in the
 * shared KV, as another instance would, for connections on the test's
 * nats-server unless `on` names another.
 */
async function occupy(room: { roomId: string; roomSid: string }, userIds: string[], on = serverId) {
  for (const [i, userId] of userIds.entries()) {
    const seat = { cid: 1000 + i, serverId: on, state: "connected" as const, at: Date.now(), counted: 0 };
    await store.seats.put(userKey(room.roomId, userId), { sid: room.roomSid, seat });
  }
  await store.modify(store.roomSeats, room.roomId, (current) => {
    const count = current?.value.sid === room.roomSid ? current.value : emptyRoomSeats(room.roomSid);
    return { ...count, taken: count.taken + userIds.length };
  });
}

/** Gives up a seat taken by occupy, as presence does once its user is offline. */
async function vacate(room: { roomId: string; roomSid: string }, userId: string) {
  await store.seats.put(userKey(room.roomId, userId), { sid: room.roomSid });
  await store.modify(store.roomSeats, room.roomId, (current) => ({
    ...current!.value,
    taken: current!.value.taken - 1,
  }));
}

async function restVerify(token: string | undefined) {
  const res = await fetch(`${pnm.server.url}/api/verifyToken`, {
    method: "POST",
    headers: { "content-type": "application/protobuf", ...(token === undefined ? {} : { authorization: token }) },
    body: toBinary(VerifyTokenRequestSchema, create(VerifyTokenRequestSchema, { isProduction: true })),
  });
  return {
    status: res.status,
    reason: res.headers.get("pnm-failure-reason"),
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

async function rpcVerify(token: string, protocol: "connect" | "grpc-web" | "grpc" = "connect") {
  const http2 = protocol === "grpc" ? createNodeHttp2Client(pnm.server.url) : undefined;
  try {
    return await createParticipantClient({
      baseUrl: pnm.server.url,
      token: () => token,
      protocol,
      httpClient: http2?.httpClient,
    }).verifyToken({ isProduction: true });
  } finally {
    http2?.close();
  }
}

async function rpcRefusal(token: string): Promise<FailureReason | undefined> {
  const err = await rpcVerify(token).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  return err?.findDetails(ErrorDetailSchema)[0]?.reason;
}

describe("VerifyToken", () => {
  it("admits a valid token on /api/verifyToken, in upstream's binary form", async () => {
    const { roomId, token } = await joinToken({ selfInsert: true });
    const answer = await restVerify(token);
    expect(answer.status).toBe(200);
    const res = fromBinary(VerifyTokenResponseSchema, answer.bytes);
    expect(res).toMatchObject({
      status: true,
      msg: "token is valid",
      roomId,
      userId: "carol",
      roomStreamName: "pnm-room-stream",
      enabledSelfInsertEncryptionKey: true,
    });
    expect(res.natsWsUrls).toEqual([nats.server.wsUrl]);
    expect(res.natsSubjects).toMatchObject({
      systemJsWorker: "sysJsWorker",
      systemPublic: "sysPublic",
      chat: "chat",
      dataChannel: "dataChannel",
    });
    expect(res.natsInboxPrefix).toBe(`_INBOX_${roomId}.carol`);
    expect(Number(res.tokenExpiresAt)).toBe(decodeJwtPayload(token).exp);
  });

  it.each(["connect", "grpc-web", "grpc"] as const)("admits a valid token over %s", async (protocol) => {
    const { roomId, token } = await joinToken();
    const res = await rpcVerify(token, protocol);
    expect(res).toMatchObject({ status: true, roomId, userId: "carol", enabledSelfInsertEncryptionKey: false });
  });

  it("accepts a Bearer token on the RPC route too", async () => {
    const { token } = await joinToken();
    expect((await rpcVerify(`Bearer ${token}`)).status).toBe(true);
  });

  const refusals: [
    string,
    (t: Awaited<ReturnType<typeof joinToken>>) => Promise<string>,
    FailureReason,
    number,
    string,
  ][] = [
    [
      "expired",
      async (t) =>
        forgeJwt(
          { alg: "HS256", typ: "JWT" },
          { ...decodeJwtPayload(t.token), nbf: 1_000, exp: 2_000 },
          pnm.config.apiSecret,
        ),
      FailureReason.TOKEN_EXPIRED,
      401,
      "notifications.token-expired",
    ],
    [
      "bad signature",
      async (t) => `${t.token.slice(0, -4)}AAAA`,
      FailureReason.TOKEN_SIGNATURE_INVALID,
      401,
      "notifications.invalid-token",
    ],
    [
      "wrong issuer",
      async (t) =>
        forgeJwt({ alg: "HS256", typ: "JWT" }, { ...decodeJwtPayload(t.token), iss: "other" }, pnm.config.apiSecret),
      FailureReason.TOKEN_ISSUER_INVALID,
      401,
      "notifications.invalid-token",
    ],
    [
      "alg none",
      async (t) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${t.token.split(".")[1]}.`,
      FailureReason.TOKEN_MALFORMED,
      401,
      "notifications.invalid-token",
    ],
    [
      "alg none with a signature",
      async (t) => forgeJwt({ alg: "none", typ: "JWT" }, decodeJwtPayload(t.token), pnm.config.apiSecret),
      FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED,
      401,
      "notifications.invalid-token",
    ],
    [
      "HS512",
      async (t) => forgeJwt({ alg: "HS512", typ: "JWT" }, decodeJwtPayload(t.token), pnm.config.apiSecret, "sha512"),
      FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED,
      401,
      "notifications.invalid-token",
    ],
    [
      "token of another kind",
      async (t) =>
        forgeJwt(
          { alg: "HS256", typ: "JWT" },
          { ...decodeJwtPayload(t.token), token_kind: "download" },
          pnm.config.apiSecret,
        ),
      FailureReason.TOKEN_KIND_INVALID,
      401,
      "notifications.invalid-token",
    ],
    [
      "user never issued a token",
      async (t) =>
        forgeJwt(
          { alg: "HS256", typ: "JWT" },
          { ...decodeJwtPayload(t.token), sub: "mallory", user_id: "mallory" },
          pnm.config.apiSecret,
        ),
      FailureReason.USER_NOT_FOUND,
      200,
      "notifications.user-info-not-found",
    ],
    [
      "blocklisted",
      async (t) => {
        await store.blocklist.put(userKey(t.roomId, "carol"), { blockedAt: Date.now() });
        return t.token;
      },
      FailureReason.USER_BLOCKED,
      200,
      "notifications.you-are-blocked",
    ],
    [
      "already online",
      async (t) => {
        await occupy(t, ["carol"]);
        return t.token;
      },
      FailureReason.USER_ALREADY_ONLINE,
      200,
      "notifications.room-disconnected-duplicate-entry",
    ],
    [
      "ended room",
      async (t) => {
        await t.rooms.endRoom({ roomId: t.roomId });
        return t.token;
      },
      FailureReason.ROOM_NOT_ACTIVE,
      401,
      "notifications.room-not-active",
    ],
    [
      "re-created room (token of the ended instance)",
      async (t) => {
        await t.rooms.endRoom({ roomId: t.roomId });
        await t.rooms.createRoom({ roomId: t.roomId, metadata: { roomTitle: "again", roomFeatures: {} } });
        return t.token;
      },
      FailureReason.ROOM_NOT_ACTIVE,
      401,
      "notifications.room-not-active",
    ],
  ];

  it.each(refusals)("refuses %s on both routes", async (_name, prepare, reason, httpStatus, upstreamMsg) => {
    const token = await prepare(await joinToken());
    expect(await rpcRefusal(token)).toBe(reason);
    const answer = await restVerify(token);
    expect(answer.status).toBe(httpStatus);
    expect(answer.reason).toBe(FailureReason[reason]);
    expect(fromBinary(CommonResponseSchema, answer.bytes)).toMatchObject({
      status: false,
      msg: upstreamMsg,
      statusCode: 0,
    });
  });

  it("refuses a full room, and admits again once a seat frees", async () => {
    const t = await joinToken({ maxParticipants: 2 });
    await occupy(t, ["u1", "u2"]);
    expect(await rpcRefusal(t.token)).toBe(FailureReason.ROOM_FULL);
    expect(fromBinary(CommonResponseSchema, (await restVerify(t.token)).bytes).msg).toBe(
      "notifications.max-num-participates-exceeded",
    );
    await vacate(t, "u2");
    expect((await rpcVerify(t.token)).status).toBe(true);
  });

  it("admits a user whose seat is held through a nats-server that has gone, and the seat becomes a dropped one", async () => {
    const t = await joinToken();
    await occupy(t, ["carol"], goneServerId);
    expect((await rpcVerify(t.token)).status).toBe(true);
    expect((await store.seats.get(userKey(t.roomId, "carol")))?.value.seat).toMatchObject({
      serverId: goneServerId,
      state: "disconnected",
    });
  });

  it("counts out of a full room the seats held through a nats-server that has gone, once they are offline", async () => {
    const t = await joinToken({ maxParticipants: 2 });
    await occupy(t, ["u1", "u2"], goneServerId);
    // Dropped, the seats are kept for a reconnect for the offline time (300 ms here), as after any drop.
    expect(await rpcRefusal(t.token)).toBe(FailureReason.ROOM_FULL);
    const seats = await Promise.all(["u1", "u2"].map((u) => store.seats.get(userKey(t.roomId, u))));
    expect(seats.map((entry) => entry?.value.seat?.state)).toEqual(["disconnected", "disconnected"]);
    await expect
      .poll(async () => (await rpcVerify(t.token).catch(() => undefined))?.status, { timeout: 10_000 })
      .toBe(true);
  });

  it("refuses a missing token", async () => {
    const answer = await restVerify(undefined);
    expect(answer.status).toBe(401);
    expect(fromBinary(CommonResponseSchema, answer.bytes).msg).toBe("notifications.auth-header-missing");
    const err = await createParticipantClient({ baseUrl: pnm.server.url, token: () => "" })
      .verifyToken({})
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses a body that is not a VerifyTokenReq", async () => {
    const { token } = await joinToken();
    const res = await fetch(`${pnm.server.url}/api/verifyToken`, {
      method: "POST",
      headers: { authorization: token, "content-type": "application/protobuf" },
      body: new Uint8Array([0xff, 0xff, 0xff]),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("pnm-failure-reason")).toBe("BODY_MALFORMED");
  });
});
