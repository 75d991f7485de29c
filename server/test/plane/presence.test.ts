import { beforeAll, describe, expect, it } from "vitest";
import { createRoomStore, type RoomStore, userKey } from "../../src/store/room-store.js";
import { useTestDeployment } from "../support/harness.js";
import { connectAs, issueToken, waitFor } from "../support/participants.js";

const deployment = useTestDeployment(); // offline 300 ms after a disconnect
let store: RoomStore;
beforeAll(async () => {
  store = await createRoomStore({ nc: await deployment.nats.connect() });
});

// A participant's presence is its seat's state: connected, disconnected (kept for a reconnect), or gone once offline.
const seatOf = async (roomId: string, userId: string) => (await store.seats.get(userKey(roomId, userId)))?.value.seat;

describe("presence", () => {
  it("follows a user from connected to disconnected and offline, and frees the seat", async () => {
    await deployment.rooms.createRoom({
      roomId: "presence",
      maxParticipants: 1,
      metadata: { roomTitle: "P", roomFeatures: {} },
    });
    const token = await issueToken(deployment.rooms, "presence", "olga");
    expect(await seatOf("presence", "olga")).toBeUndefined();

    const nc = await connectAs(deployment.nats, "presence", "olga", token);
    await waitFor(async () => (await seatOf("presence", "olga"))?.state === "connected");

    await nc.close();
    await waitFor(async () => (await seatOf("presence", "olga"))?.state === "disconnected");
    const other = await issueToken(deployment.rooms, "presence", "paul");
    // The seat is kept for a reconnect while the user is only disconnected.
    await expect(connectAs(deployment.nats, "presence", "paul", other)).rejects.toThrow(/Authorization Violation/);

    await waitFor(async () => (await seatOf("presence", "olga")) === undefined);
    const paul = await connectAs(deployment.nats, "presence", "paul", other);
    await paul.close();
  });

  it("keeps the seat of a user who reconnects within the window", async () => {
    await deployment.rooms.createRoom({ roomId: "presence-back", metadata: { roomTitle: "P", roomFeatures: {} } });
    const token = await issueToken(deployment.rooms, "presence-back", "quinn");
    const first = await connectAs(deployment.nats, "presence-back", "quinn", token);
    await waitFor(async () => (await seatOf("presence-back", "quinn"))?.state === "connected");
    await first.close();
    await waitFor(async () => (await seatOf("presence-back", "quinn"))?.state === "disconnected");
    const again = await connectAs(deployment.nats, "presence-back", "quinn", token);
    await waitFor(async () => (await seatOf("presence-back", "quinn"))?.state === "connected");
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await seatOf("presence-back", "quinn"))?.state).toBe("connected");
    await again.close();
  });
});
