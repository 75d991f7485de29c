import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomServiceClient } from "@pnm/client";
import { createRoomStore, type RoomStore, userKey } from "../../src/store/room-store.js";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, testConfig, type TestNats, type TestServer } from "../support/harness.js";
import { forgeJwt, decodeJwtPayload } from "../support/tokens.js";
import { closesWithin, connectAs, issueToken, waitFor } from "../support/participants.js";

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
    for (const refused of attempts.filter((a) => a.error)) expect(String(refused.error)).toMatch(/Authorization Violation/i);
    const seats = await waitFor(async () => {
      const value = (await store.seats.get("limited"))?.value;
      return value && Object.values(value.holders).filter((s) => s.state === "connected").length === 5 ? value : undefined;
    });
    expect(Object.keys(seats.holders)).toHaveLength(5);

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
    expect(third.error).toBeDefined();
    await Promise.all([again, second.nc, ...admitted.slice(2).map((a) => a.nc)].map((nc) => nc?.close()));
  });

  it("admits all of 50 simultaneous connects to a room without a limit", async () => {
    await rooms.createRoom({ roomId: "open", metadata: { roomTitle: "O", roomFeatures: {} } });
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => issueToken(rooms, "open", `o${i}`)));
    const attempts = await Promise.all(tokens.map((token, i) => tryConnect("open", `o${i}`, token)));
    expect(attempts.filter((a) => a.error).map((a) => String(a.error))).toEqual([]);
    await Promise.all(attempts.map((a) => a.nc?.close()));
  });

  it("holds a client that skips VerifyToken to every rule", async () => {
    await rooms.createRoom({ roomId: "rules", maxParticipants: 1, metadata: { roomTitle: "R", roomFeatures: { waitingRoomFeatures: { isActive: true } } } });
    const admin = await rooms.getJoinToken({ roomId: "rules", userInfo: { name: "Admin", userId: "admin", isAdmin: true } });
    const waiting = await issueToken(rooms, "rules", "guest");
    expect((await tryConnect("rules", "guest", waiting)).error).toBeDefined();

    const adminConnection = await connectAs(nats, "rules", "admin", admin.token!);
    const other = await rooms.getJoinToken({ roomId: "rules", userInfo: { name: "Admin 2", userId: "admin2", isAdmin: true } });
    expect((await tryConnect("rules", "admin2", other.token!)).error).toBeDefined(); // room full

    const claims = decodeJwtPayload(admin.token!);
    const secret = first.config.apiSecret;
    const forged = (change: Record<string, unknown>) => forgeJwt({ alg: "HS256", typ: "JWT" }, { ...claims, ...change }, secret);
    for (const token of [forged({ token_kind: "download" }), forged({ exp: 1000, nbf: 900 }), forged({ sub: "nobody", user_id: "nobody" }), "garbage"]) {
      expect((await tryConnect("rules", "admin", token)).error).toBeDefined();
    }
    await adminConnection.close();
  });

  it("refuses participants over plain TCP", async () => {
    await rooms.createRoom({ roomId: "tcp", metadata: { roomTitle: "T", roomFeatures: {} } });
    const token = await issueToken(rooms, "tcp", "t1");
    const { connect } = await import("@nats-io/transport-node");
    await expect(connect({ servers: nats.server.url, token, reconnect: false, timeout: 3000 })).rejects.toThrow(/Authorization Violation/i);
  });

  it("refuses a blocked user, even with a join token issued after the block", async () => {
    await rooms.createRoom({ roomId: "blocks", metadata: { roomTitle: "B", roomFeatures: {} } });
    const token = await issueToken(rooms, "blocks", "mallory");
    await store.blocklist.put(userKey("blocks", "mallory"), { blockedAt: Date.now() });
    expect((await tryConnect("blocks", "mallory", token)).error).toBeDefined();
    await expect(issueToken(rooms, "blocks", "mallory")).rejects.toThrow(/blocked/);
  });
});

describe("disconnects", () => {
  let counter = 0;
  async function session(roomId = `live-${++counter}`) {
    await rooms.createRoom({ roomId, metadata: { roomTitle: "L", roomFeatures: {} } });
    const token = await issueToken(rooms, roomId, "dave");
    const nc = await connectAs(nats, roomId, "dave", token);
    await waitFor(async () => (await store.seats.get(roomId))?.value.holders.dave?.state === "connected");
    return { roomId, token, nc };
  }

  it("a second connection of the same user replaces the first within a second", async () => {
    const { roomId, token, nc } = await session();
    const replacement = await connectAs(nats, roomId, "dave", token);
    expect(await closesWithin(nc, 1000)).toBe(true);
    expect(replacement.isClosed()).toBe(false);
    await replacement.close();
  });

  it("removal closes the session within a second; the old token cannot come back", async () => {
    const { roomId, token, nc } = await session();
    await rooms.removeParticipant({ roomId, userId: "dave" });
    expect(await closesWithin(nc, 1000)).toBe(true);
    expect((await tryConnect(roomId, "dave", token)).error).toBeDefined();
    const fresh = await connectAs(nats, roomId, "dave", await issueToken(rooms, roomId, "dave"));
    await fresh.close();
  });

  it("blocking closes the session within a second and keeps the user out", async () => {
    const { roomId, nc } = await session();
    await rooms.removeParticipant({ roomId, userId: "dave", blockUser: true });
    expect(await closesWithin(nc, 1000)).toBe(true);
    await expect(issueToken(rooms, roomId, "dave")).rejects.toThrow(/blocked/);
  });

  it("ending the room closes every session within a second", async () => {
    const { roomId, token, nc } = await session();
    const other = await connectAs(nats, roomId, "erin", await issueToken(rooms, roomId, "erin"));
    await rooms.endRoom({ roomId });
    const [a, b] = await Promise.all([closesWithin(nc, 1000), closesWithin(other, 1000)]);
    expect([a, b]).toEqual([true, true]);
    expect((await tryConnect(roomId, "dave", token)).error).toBeDefined();
  });
});

describe("revocation by removal", () => {
  it("keeps a removed user's older tokens refused after the user is invited again", async () => {
    await rooms.createRoom({ roomId: "revoked", metadata: { roomTitle: "R", roomFeatures: {} } });
    const old = await issueToken(rooms, "revoked", "rita");
    const session = await connectAs(nats, "revoked", "rita", old);
    await rooms.removeParticipant({ roomId: "revoked", userId: "rita" });
    expect(await closesWithin(session, 1000)).toBe(true);
    const fresh = await issueToken(rooms, "revoked", "rita");
    expect((await tryConnect("revoked", "rita", old)).error).toBeDefined();
    const { createParticipantClient } = await import("@pnm/client");
    await expect(createParticipantClient({ baseUrl: first.server.url, token: () => old }).verifyToken({})).rejects.toThrow(/revoked/);
    const again = await connectAs(nats, "revoked", "rita", fresh);
    await again.close();
  });
});
