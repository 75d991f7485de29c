import {
  DeniedError,
  FailureReason,
  failureReason,
  joinSession,
  type ParticipantSession,
  SessionError,
} from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";

// The client SDK in a room with a waiting room: joinSession waits, connected with the waiting room's permissions,
// until a moderator decides (docs/security-gaps.md #18).
const deployment = useTestDeployment();

let counter = 0;
async function waitingRoom(maxParticipants?: number) {
  const roomId = `wait-${++counter}`;
  await deployment.rooms.createRoom({
    roomId,
    maxParticipants,
    metadata: { roomTitle: "W", roomFeatures: { waitingRoomFeatures: { isActive: true } } },
  });
  return roomId;
}
async function join(
  roomId: string,
  userId: string,
  isAdmin: boolean,
  onWaiting?: () => void,
): Promise<ParticipantSession> {
  const { token } = await deployment.rooms.getJoinToken({ roomId, userInfo: { name: userId, userId, isAdmin } });
  return joinSession({ baseUrl: deployment.pnm.server.url, token: token!, webSocket: nodeWebSocket, onWaiting });
}
/** Starts joining as a plain participant; resolves `waiting` once the waiting room holds it. */
function startWaiting(roomId: string, userId: string) {
  let waiting!: () => void;
  const held = new Promise<void>((resolve) => (waiting = resolve));
  const joined = join(roomId, userId, false, () => waiting());
  // Settled by the test; kept from counting as unhandled while it waits.
  joined.catch(() => undefined);
  return { held, joined };
}
const chatFrom = (session: ParticipantSession, text: string) =>
  new Promise<string>((resolve) => session.on("chat", (m) => m.message === text && resolve(m.fromUserId)));

describe("joinSession in a room with a waiting room", () => {
  it("waits while the waiting room holds it, and goes on once approved: chat reaches the room", async () => {
    const roomId = await waitingRoom();
    const host = await join(roomId, "host", true);
    const guest = startWaiting(roomId, "guest");
    await guest.held;
    let settled = false;
    void guest.joined.then(() => (settled = true));
    // Held, not refused: still waiting a while later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);

    await deployment.rooms.approveParticipant({ roomId, userId: "guest" });
    const session = await guest.joined;
    expect(session.initialData.localUser?.userId).toBe("guest");
    const heard = chatFrom(host, "admitted at last");
    await session.sendChat("admitted at last");
    expect(await heard).toBe("guest");
    await Promise.all([session.leave(), host.leave()]);
  });

  it("is approved by an admin's session over NATS", async () => {
    const roomId = await waitingRoom();
    const host = await join(roomId, "host", true);
    const guest = startWaiting(roomId, "guest");
    await guest.held;
    await host.approveWaitingUser("guest");
    const session = await guest.joined;
    expect(session.userId).toBe("guest");
    await Promise.all([session.leave(), host.leave()]);
  });

  it("ends with DeniedError when a moderator turns it away", async () => {
    const roomId = await waitingRoom();
    const guest = startWaiting(roomId, "guest");
    await guest.held;
    await deployment.rooms.denyParticipant({ roomId, userId: "guest", msg: "not today" });
    const error = await guest.joined.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeniedError);
    expect((error as DeniedError).reason).toBe(FailureReason.USER_DENIED);
  });

  it("refuses an admin's decision from a session that is no admin's", async () => {
    const roomId = await waitingRoom();
    const first = startWaiting(roomId, "first");
    await first.held;
    await deployment.rooms.approveParticipant({ roomId, userId: "first" });
    const member = await first.joined;
    const second = startWaiting(roomId, "second");
    await second.held;
    const refusal = await member.approveWaitingUser("second").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(SessionError);
    expect((refusal as SessionError).reason).toBe(FailureReason.ADMIN_REQUIRED);
    await deployment.rooms.denyParticipant({ roomId, userId: "second" });
    await expect(second.joined).rejects.toBeInstanceOf(DeniedError);
    await member.leave();
  });

  it("is approved only while a seat is free, and then keeps it", async () => {
    const roomId = await waitingRoom(1);
    const host = await join(roomId, "host", true);
    const guest = startWaiting(roomId, "guest");
    await guest.held;
    const hostEnded = new Promise((resolve) => host.on("ended", resolve));
    const full = await deployment.rooms.approveParticipant({ roomId, userId: "guest" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failureReason(full)).toBe(FailureReason.ROOM_FULL);
    await deployment.rooms.removeParticipant({ roomId, userId: "host" });
    await hostEnded;
    await deployment.rooms.approveParticipant({ roomId, userId: "guest" });
    const session = await guest.joined;
    // The approved guest holds the one seat.
    const { token } = await deployment.rooms.getJoinToken({
      roomId,
      userInfo: { name: "late", userId: "late", isAdmin: true },
    });
    await expect(
      joinSession({ baseUrl: deployment.pnm.server.url, token: token!, webSocket: nodeWebSocket }),
    ).rejects.toMatchObject({
      reason: FailureReason.ROOM_FULL,
    });
    await session.leave();
  });
});
