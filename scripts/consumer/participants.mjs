// Two participants join one end-to-end encrypted room with the installed
// @pnm/client (Node 20: nodeWebSocket from @pnm/client/node) and exchange a
// chat message each way; each reads the other's and not its own, and a third
// participant on the chat subject (a raw NATS connection from
// @pnm/client/protocol) sees both messages, neither in plain text.
// Env: PNM_URL, PNM_API_KEY, PNM_API_SECRET.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createRoomServiceClient, joinSession } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { connectParticipant, createParticipantClient } from "@pnm/client/protocol";

const { PNM_URL: baseUrl, PNM_API_KEY: apiKey, PNM_API_SECRET: apiSecret } = process.env;
const rooms = createRoomServiceClient({ baseUrl, apiKey, apiSecret });
const roomId = `consumer-e2ee-${randomUUID().slice(0, 8)}`;
await rooms.createRoom({
  roomId,
  metadata: {
    roomTitle: "Consumer E2EE",
    roomFeatures: { endToEndEncryptionFeatures: { isEnabled: true, includedChatMessages: true } },
  },
});
const tokenFor = async (userId) => (await rooms.getJoinToken({ roomId, userInfo: { name: userId, userId } })).token;

// Eve listens on the room's chat subject with nothing but her NATS connection.
const eveToken = await tokenFor("eve");
const eveVerified = await createParticipantClient({ baseUrl, token: () => eveToken }).verifyToken({
  isProduction: true,
});
const eve = await connectParticipant({
  servers: eveVerified.natsWsUrls,
  token: () => eveToken,
  webSocket: nodeWebSocket,
});
const onTheWire = [];
eve.subscribe(`${eveVerified.natsSubjects.chat}.${roomId}`, (m) => onTheWire.push(m.data));
await eve.flush();

const join = async (userId) => {
  const session = await joinSession({ baseUrl, token: await tokenFor(userId), webSocket: nodeWebSocket });
  const received = [];
  session.on("chat", (m) => received.push(`${m.fromUserId}: ${m.message}`));
  session.on("error", (e) => received.push(`error ${e.name}`));
  return { session, received };
};
const alice = await join("alice");
const bob = await join("bob");
try {
  assert.deepEqual(alice.session.e2ee, { enabled: true, chat: true, whiteboard: false });
  assert.equal(bob.session.roomSid, alice.session.roomSid);

  await alice.session.sendChat("hello from alice");
  await bob.session.sendChat("hello from bob");
  const deadline = Date.now() + 10_000;
  while ((alice.received.length < 1 || bob.received.length < 1 || onTheWire.length < 2) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  // A moment more, so that an echo of one's own message would show up too.
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(bob.received, ["alice: hello from alice"]);
  assert.deepEqual(alice.received, ["bob: hello from bob"]);
  assert.equal(onTheWire.length, 2, "messages on the chat subject");
  for (const data of onTheWire)
    assert.ok(!Buffer.from(data).toString("latin1").includes("hello from"), "plain text on the chat subject");
  console.log("alice and bob exchanged chat over NATS; the chat subject carried it encrypted");
} finally {
  await alice.session.leave();
  await bob.session.leave();
  await eve.close();
}
