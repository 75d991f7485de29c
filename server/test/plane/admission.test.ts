import { AuthorizationError } from "@nats-io/nats-core";
import type { RoomServiceClient } from "@pnm/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoomStore, type RoomStore, userKey } from "../../src/store/room-store.js";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { connectAs, issueToken, waitFor } from "../support/participants.js";

let nats: TestNats;
let first: TestServer;
let second: TestServer;
let rooms: RoomServiceClient;
let store: RoomStore;

// Two server instances over one NATS: both answer the auth callout (queue group) and share the KV state.
beforeAll(async () => {
  nats = await startTestNats();
  const config = testConfig(nats);
  first = await startTestServer(nats, config);
  second = await startTestServer(nats, config);
  rooms = signedClient(first.server.url, config.apiKey, config.apiSecret, "connect");
  store = await createRoomStore({ nc: await nats.connect() });
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await nats?.stop();
});

const seatsOf = async (roomId: string, userId: string) => (await store.seats.get(userKey(roomId, userId)))?.value;

const tryConnect = (roomId: string, userId: string, token: string) =>
  connectAs(nats, roomId, userId, token).then(
    (nc) => ({ nc, error: undefined }),
    (error: Error) => ({ nc: undefined, error }),
  );

describe("admission at the auth callout", () => {
  it("admits exactly 5 of 50 simultaneous connects to a 5-seat room, across two instances; seats free after disconnects", async () => {
    await rooms.createRoom({ roomId: "limited", maxParticipants: 5, metadata: { roomTitle: "L", roomFeatures: {} } });
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => issueToken(rooms, "limited", `u${i}`)));
    const attempts = await Promise.all(tokens.map((token, i) => tryConnect("limited", `u${i}`, token)));
    const admitted = attempts.filter((a) => a.nc);
    expect(admitted).toHaveLength(5);
    for (const refused of attempts.filter((a) => a.error)) expect(refused.error).toBeInstanceOf(AuthorizationError);
    const seated = await waitFor(async () => {
      const records = await Promise.all(tokens.map((_, i) => seatsOf("limited", `u${i}`)));
      const connected = records.filter((record) => record?.seat?.state === "connected");
      return connected.length === 5 ? records.filter((record) => record?.seat) : undefined;
    });
    expect(seated).toHaveLength(5);
    expect((await store.roomSeats.get("limited"))?.value.taken).toBe(5);

    await Promise.all(admitted.slice(0, 2).map((a) => a.nc!.close()));
    const refusedIndexes = attempts.map((a, i) => (a.error ? i : -1)).filter((i) => i >= 0);
    expect(refusedIndexes).toHaveLength(45);
    // Seats are freed once the disconnected users are offline (300 ms in tests).
    const again = await waitFor(async () => {
      const retry = await tryConnect("limited", `u${refusedIndexes[0]}`, tokens[refusedIndexes[0]!]!);
      return retry.nc;
    });
    const second = await tryConnect("limited", `u${refusedIndexes[1]}`, tokens[refusedIndexes[1]!]!);
    const third = await tryConnect("limited", `u${refusedIndexes[2]}`, tokens[refusedIndexes[2]!]!);
    expect(second.nc).toBeDefined();
    expect(third.error).toBeInstanceOf(AuthorizationError);
    await Promise.all([again, second.nc, ...admitted.slice(2).map((a) => a.nc)].map((nc) => nc?.close()));
  });

  it("admits all of 50 simultaneous connects to a room without a limit", async () => {
    await rooms.createRoom({ roomId: "open", metadata: { roomTitle: "O", roomFeatures: {} } });
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => issueToken(rooms, "open", `o${i}`)));
    const attempts = await Promise.all(tokens.map((token, i) => tryConnect("open", `o${i}`, token)));
    expect(attempts.filter((a) => a.error).map((a) => String(a.error))).toEqual([]);
    await Promise.all(attempts.map((a) => a.nc?.close()));
  });

  it("records a waiting user's connection apart from the seats, forgets it once gone, and reserves a seat on approval", async () => {
    await rooms.createRoom({
      roomId: "lobby",
      maxParticipants: 1,
      metadata: { roomTitle: "W", roomFeatures: { waitingRoomFeatures: { isActive: true } } },
    });
    const token = await issueToken(rooms, "lobby", "w1");
    const w1 = () => seatsOf("lobby", "w1");
    const nc = await connectAs(nats, "lobby", "w1", token);
    const waiting = await waitFor(async () => (await w1())?.waiting);
    expect(waiting.cid).toBe(nc.info!.client_id);
    expect((await w1())?.seat).toBeUndefined();
    expect((await store.roomSeats.get("lobby"))?.value.taken).toBe(0);
    await nc.close();
    await waitFor(async () => (await w1())?.waiting === undefined);
    // Not connected: approval still takes the one seat, for the user's next connection, which no one else gets meanwhile.
    await rooms.approveParticipant({ roomId: "lobby", userId: "w1" });
    expect((await w1())?.seat?.state).toBe("reserved");
    expect((await store.roomSeats.get("lobby"))?.value.taken).toBe(1);
    const { token: other } = await rooms.getJoinToken({
      roomId: "lobby",
      userInfo: { name: "host", userId: "host", isAdmin: true },
    });
    await expect(tryConnect("lobby", "host", other!).then((a) => a.error)).resolves.toBeInstanceOf(AuthorizationError);
    const admitted = await connectAs(nats, "lobby", "w1", token);
    await waitFor(async () => (await w1())?.seat?.state === "connected");
    await admitted.close();
  });

  it("admits a removed user's new token at once and keeps refusing the old one, whichever instance answers", async () => {
    await rooms.createRoom({ roomId: "again", metadata: { roomTitle: "A", roomFeatures: {} } });
    const old = await issueToken(rooms, "again", "r1");
    // Connects spread over both instances, so each has read the user before it is removed.
    for (let i = 0; i < 4; i++) await (await connectAs(nats, "again", "r1", old)).close();
    await rooms.removeParticipant({ roomId: "again", userId: "r1" });
    const fresh = await issueToken(rooms, "again", "r1");
    for (let i = 0; i < 4; i++) {
      await expect(tryConnect("again", "r1", old).then((a) => a.error)).resolves.toBeInstanceOf(AuthorizationError);
      const admitted = await connectAs(nats, "again", "r1", fresh);
      await admitted.close();
    }
  });

  it("refuses participants over plain TCP", async () => {
    await rooms.createRoom({ roomId: "tcp", metadata: { roomTitle: "T", roomFeatures: {} } });
    const token = await issueToken(rooms, "tcp", "t1");
    const { connect } = await import("@nats-io/transport-node");
    await expect(connect({ servers: nats.server.url, token, reconnect: false, timeout: 3000 })).rejects.toBeInstanceOf(
      AuthorizationError,
    );
  });
});
