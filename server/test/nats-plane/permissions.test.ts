import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer } from "../support/harness.js";
import { connectAs, issueToken } from "../support/participants.js";

let nats: TestNats;
let pnm: TestServer;
let observer: NatsConnection;
const users: Record<string, NatsConnection> = {};

// Two rooms, three users: a and b share r1, c is alone in r2.
beforeAll(async () => {
  nats = await startTestNats();
  pnm = await startTestServer(nats);
  observer = await nats.connect();
  const rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
  for (const roomId of ["r1", "r2"]) await rooms.createRoom({ roomId, metadata: { roomTitle: roomId, roomFeatures: {} } });
  for (const [roomId, userId] of [["r1", "a"], ["r1", "b"], ["r2", "c"]] as const) {
    users[userId] = await connectAs(nats, roomId, userId, await issueToken(rooms, roomId, userId));
  }
});
afterAll(async () => {
  await Promise.all(Object.values(users).map((nc) => nc.close()));
  await pnm?.close();
  await nats?.stop();
});

const settle = () => new Promise((r) => setTimeout(r, 150));

/** Does a message user a publishes on `subject` reach a fully privileged observer? */
async function canPublish(subject: string): Promise<boolean> {
  const sub = observer.subscribe(subject);
  await observer.flush();
  const payload = crypto.randomUUID();
  users.a!.publish(subject, payload);
  await users.a!.flush().catch(() => undefined);
  await settle();
  sub.unsubscribe();
  for await (const m of sub) if (m.string() === payload) return true;
  return false;
}

/** Does a message the observer publishes on `publishOn` reach user a subscribed to `subject`? */
async function canSubscribe(subject: string, publishOn = subject): Promise<boolean> {
  const got: string[] = [];
  const sub = users.a!.subscribe(subject, { callback: (err, m) => void (err ? undefined : got.push(m.string())) });
  await users.a!.flush().catch(() => undefined);
  await settle();
  const payload = crypto.randomUUID();
  observer.publish(publishOn, payload);
  await observer.flush();
  await settle();
  sub.unsubscribe();
  return got.includes(payload);
}

describe("participant permissions (user a of room r1)", () => {
  it.each([
    ["own room chat", "chat.r1", true],
    ["own room whiteboard", "whiteboard.r1", true],
    ["own room data channel", "dataChannel.r1", true],
    ["own JetStream worker subject", "sysJsWorker.r1.a", true],
    ["own core worker subject", "sysCoreWorker.r1.a", true],
    ["another room's chat", "chat.r2", false],
    ["another user's worker subject", "sysJsWorker.r1.b", false],
    ["another user's core worker subject", "sysCoreWorker.r1.b", false],
    ["another room's worker subject", "sysCoreWorker.r2.c", false],
    ["a room's public system subject", "sysPublic.r1.system", false],
    ["another user's private subject", "sysPrivate.r1.b.system", false],
    ["another user's inbox", "_INBOX_r1.b.reply", false],
    ["a shared inbox", "_INBOX.reply", false],
    ["the JetStream API", "$JS.API.STREAM.LIST", false],
    ["a KV bucket", "$KV.pnm-rooms.r1", false],
    ["the system subjects", "$SYS.REQ.SERVER.PING", false],
    ["a subject of no room", "anything", false],
  ])("publish on %s: %s → allowed %s", async (_name, subject, allowed) => {
    expect(await canPublish(subject)).toBe(allowed);
  });

  it.each([
    ["own room chat", "chat.r1", "chat.r1", true],
    ["own private subject", "sysPrivate.r1.a.>", "sysPrivate.r1.a.system", true],
    ["own inbox", "_INBOX_r1.a.>", "_INBOX_r1.a.x", true],
    ["own room public subject", "sysPublic.r1", "sysPublic.r1", true],
    ["another room's chat", "chat.r2", "chat.r2", false],
    ["another room's public subject", "sysPublic.r2", "sysPublic.r2", false],
    ["another user's private subject", "sysPrivate.r1.b.>", "sysPrivate.r1.b.system", false],
    ["all private subjects of the room", "sysPrivate.r1.>", "sysPrivate.r1.b.system", false],
    ["another user's inbox", "_INBOX_r1.b.>", "_INBOX_r1.b.x", false],
    ["everyone's inboxes (upstream's _INBOX.>)", "_INBOX.>", "_INBOX.x", false],
    ["another user's worker requests", "sysJsWorker.r1.b", "sysJsWorker.r1.b", false],
    ["the JetStream API", "$JS.API.>", "$JS.API.STREAM.INFO.x", false],
    ["KV updates", "$KV.>", "$KV.pnm-users.r1.b", false],
    ["system events", "$SYS.>", "$SYS.ACCOUNT.PNM.CONNECT", false],
    ["everything", ">", "chat.r2", false],
  ])("subscribe to %s: %s → allowed %s", async (_name, subject, publishOn, allowed) => {
    expect(await canSubscribe(subject, publishOn)).toBe(allowed);
  });

  it("keeps user c of room r2 out of room r1 entirely", async () => {
    const got: string[] = [];
    users.c!.subscribe("chat.r1", { callback: (err, m) => void (err ? undefined : got.push(m.string())) });
    await users.c!.flush().catch(() => undefined);
    observer.publish("chat.r1", "for r1 only");
    await observer.flush();
    await settle();
    expect(got).toEqual([]);
  });
});
