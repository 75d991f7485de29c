// Sender identity on peer subjects (docs/security-gaps.md #24): pnm's client
// against pnm's server, with participants that speak NATS directly as an
// attacker and as upstream's web client would.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type NatsConnection, PermissionViolationError } from "@nats-io/nats-core";
import { joinSession, type ParticipantSession, type ReceivedChat, SenderMismatchError } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { ChatMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";
import { connectAs, issueToken } from "../support/participants.js";

const deployment = useTestDeployment();
const roomId = "identity";
let alice: ParticipantSession;
let bob: ParticipantSession;
/** Connects as a participant with nats.js, as a modified or upstream client would. */
let mallory: NatsConnection;
let upstream: NatsConnection;
const shownToBob: ReceivedChat[] = [];
const bobsErrors: Error[] = [];

// The room does not encrypt chat, so a raw participant can write ChatMessages; with E2EE every participant holds the key anyway.
beforeAll(async () => {
  await deployment.rooms.createRoom({ roomId, metadata: { roomTitle: "Who said that?", roomFeatures: {} } });
  const session = async (userId: string) =>
    joinSession({
      baseUrl: deployment.pnm.server.url,
      token: await issueToken(deployment.rooms, roomId, userId),
      webSocket: nodeWebSocket,
    });
  alice = await session("alice");
  bob = await session("bob");
  bob.on("chat", (m) => void shownToBob.push(m));
  bob.on("error", (e) => void bobsErrors.push(e));
  mallory = await connectAs(deployment.nats, roomId, "mallory", await issueToken(deployment.rooms, roomId, "mallory"));
  upstream = await connectAs(
    deployment.nats,
    roomId,
    "upstream",
    await issueToken(deployment.rooms, roomId, "upstream"),
  );
});
afterAll(async () => {
  await Promise.all([alice?.leave(), bob?.leave(), mallory?.close(), upstream?.close()]);
});

const chat = (fromUserId: string, message: string) =>
  toBinary(
    ChatMessageSchema,
    create(ChatMessageSchema, { id: crypto.randomUUID(), fromUserId, fromName: fromUserId.toUpperCase(), message }),
  );

/** Resolves once bob has shown a chat with this text, or reported an error: what came of a message. */
async function bobShows(message: string): Promise<ReceivedChat> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = shownToBob.find((m) => m.message === message);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`bob was not shown ${JSON.stringify(message)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("sender identity on peer subjects", () => {
  it("shows pnm participants' chat with the sender NATS vouches for, once, though a copy goes to upstream's shared subject too", async () => {
    const onShared: { data: Uint8Array; sender: string | undefined }[] = [];
    upstream.subscribe(`chat.${roomId}`, {
      callback: (err, m) => void (err || onShared.push({ data: m.data, sender: m.headers?.get("Pnm-Sender") })),
    });
    await upstream.flush();
    await alice.sendChat("hello from alice");
    const shown = await bobShows("hello from alice");
    expect(shown.sender).toEqual({ userId: "alice", verified: true });
    expect(shown.fromUserId).toBe("alice");

    // Upstream's client, on the shared subject, gets the copy alice's session publishes there, naming the sender in a header.
    const deadline = Date.now() + 5_000;
    while (
      !onShared.some((r) => fromBinary(ChatMessageSchema, r.data).message === "hello from alice") &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const copy = onShared.find((r) => fromBinary(ChatMessageSchema, r.data).message === "hello from alice");
    expect(copy?.sender).toBe("alice");
    // The copy reached every subscriber of the shared subject, bob's session included, before this later message did.
    upstream.publish(`chat.${roomId}`, chat("upstream", "after the copy"));
    await bobShows("after the copy");
    expect(shownToBob.filter((m) => m.message === "hello from alice")).toHaveLength(1);
  });

  it("refuses a participant's publish on another participant's subject", async () => {
    const refusal = new Promise<unknown>((resolve) => {
      void (async () => {
        for await (const status of mallory.status()) if (status.type === "error") return resolve(status.error);
      })();
    });
    mallory.publish(`chat.${roomId}.alice`, chat("alice", "forged on alice's subject"));
    const error = await refusal;
    expect(error).toBeInstanceOf(PermissionViolationError);
    expect(error).toMatchObject({ operation: "publish", subject: `chat.${roomId}.alice` });
  });

  it("drops a message whose claimed sender is not the one whose subject it came on, names the real sender, and shows nothing", async () => {
    const errorsBefore = bobsErrors.length;
    mallory.publish(`chat.${roomId}.mallory`, chat("alice", "I am alice, trust me"));
    mallory.publish(`chat.${roomId}.mallory`, chat("mallory", "and this is really me"));
    const honest = await bobShows("and this is really me");
    expect(honest.sender).toEqual({ userId: "mallory", verified: true });
    const error = bobsErrors.slice(errorsBefore).find((e) => e instanceof SenderMismatchError);
    expect(error).toMatchObject({ channel: "chat", sender: "mallory", claimed: "alice" });
    expect(shownToBob.some((m) => m.message === "I am alice, trust me")).toBe(false);
  });

  it("keeps upstream's shared subject working both ways, its senders shown as unverified", async () => {
    upstream.publish(`chat.${roomId}`, chat("alice", "claims alice over the upstream subject"));
    const shown = await bobShows("claims alice over the upstream subject");
    expect(shown.sender).toEqual({ userId: "alice", verified: false });
    const received: string[] = [];
    const sub = mallory.subscribe(`chat.${roomId}`, {
      callback: (err, m) => void (err || received.push(fromBinary(ChatMessageSchema, m.data).message)),
    });
    await mallory.flush();
    upstream.publish(`chat.${roomId}`, chat("upstream", "upstream to upstream"));
    await upstream.flush();
    await mallory.flush();
    expect(received).toContain("upstream to upstream");
    sub.unsubscribe();
  });
});
