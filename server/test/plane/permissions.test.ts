import { EventEmitter, once } from "node:events";
import { type NatsConnection, PermissionViolationError, type Subscription } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer } from "../support/harness.js";
import { connectAs, issueToken } from "../support/participants.js";

let nats: TestNats;
let pnm: TestServer;
let observer: NatsConnection;
let a: NatsConnection;
/** Emits, under the subject, each publish of a that the server refused: nats.js reports those as error statuses. */
const publishRefusals = new EventEmitter();

// User a of room r1; room r2 is another room.
beforeAll(async () => {
  nats = await startTestNats();
  pnm = await startTestServer(nats);
  observer = await nats.connect();
  const rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
  for (const roomId of ["r1", "r2"])
    await rooms.createRoom({ roomId, metadata: { roomTitle: roomId, roomFeatures: {} } });
  a = await connectAs(nats, "r1", "a", await issueToken(rooms, "r1", "a"));
  void (async () => {
    for await (const status of a.status()) {
      if (
        status.type === "error" &&
        status.error instanceof PermissionViolationError &&
        status.error.operation === "publish"
      ) {
        publishRefusals.emit(status.error.subject, status.error);
      }
    }
  })();
});
afterAll(async () => {
  await a?.close();
  await pnm?.close();
  await nats?.stop();
});

// Only a bound on a wait that ends as soon as the server answers.
const patienceMs = 2_000;

/** Resolves true once `sub` receives `payload`, false if it ends or `patienceMs` passes first. */
async function receives(sub: Subscription, payload: string): Promise<boolean> {
  const timer = setTimeout(() => sub.unsubscribe(), patienceMs);
  try {
    for await (const m of sub) if (m.string() === payload) return true;
    return false;
  } catch {
    return false; // the server refused the subscription
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${patienceMs} ms`)), patienceMs)),
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("participant permissions (user a of room r1)", () => {
  it.each([
    ["own room chat", "chat.r1"],
    ["own room whiteboard", "whiteboard.r1"],
    ["own room data channel", "dataChannel.r1"],
    ["own chat subject, which names it as the sender", "chat.r1.a"],
    ["own whiteboard subject", "whiteboard.r1.a"],
    ["own data channel subject", "dataChannel.r1.a"],
    ["own JetStream worker subject", "sysJsWorker.r1.a"],
    ["own core worker subject", "sysCoreWorker.r1.a"],
  ])("publish on %s (%s) is delivered", async (_name, subject) => {
    const sub = observer.subscribe(subject);
    await observer.flush();
    const payload = crypto.randomUUID();
    a.publish(subject, payload);
    expect(await receives(sub, payload)).toBe(true);
  });

  it.each([
    ["another room's chat", "chat.r2"],
    ["another user's chat subject, in that user's name", "chat.r1.b"],
    ["another user's whiteboard subject", "whiteboard.r1.b"],
    ["another user's data channel subject", "dataChannel.r1.b"],
    ["its own name in another room's chat", "chat.r2.a"],
    ["another user's worker subject", "sysJsWorker.r1.b"],
    ["another user's core worker subject", "sysCoreWorker.r1.b"],
    ["another room's worker subject", "sysCoreWorker.r2.c"],
    ["a room's public system subject", "sysPublic.r1.system"],
    ["another user's private subject", "sysPrivate.r1.b.system"],
    ["another user's inbox", "_INBOX_r1.b.reply"],
    ["a shared inbox", "_INBOX.reply"],
    ["the JetStream API", "$JS.API.STREAM.LIST"],
    ["a KV bucket", "$KV.pnm-rooms.r1"],
    ["the system subjects", "$SYS.REQ.SERVER.PING"],
    ["a subject of no room", "anything"],
  ])("publish on %s (%s) is refused by the server and reaches no one", async (_name, subject) => {
    const got: string[] = [];
    const sub = observer.subscribe(subject, { callback: (err, m) => void (err ? undefined : got.push(m.string())) });
    await observer.flush();
    const refusal = once(publishRefusals, subject);
    a.publish(subject, "refused");
    const [error] = (await within(refusal, `refusal of the publish on ${subject}`)) as [PermissionViolationError];
    expect(error).toBeInstanceOf(PermissionViolationError);
    expect(error).toMatchObject({ operation: "publish", subject });
    // The server refused instead of routing, so whatever it routed is here by the observer's next PONG.
    await observer.flush();
    sub.unsubscribe();
    expect(got).toEqual([]);
  });

  it.each([
    ["own room chat", "chat.r1", "chat.r1"],
    ["everyone's chat subjects of its room", "chat.r1.*", "chat.r1.b"],
    ["everyone's data channel subjects of its room", "dataChannel.r1.*", "dataChannel.r1.b"],
    ["own private subject", "sysPrivate.r1.a.>", "sysPrivate.r1.a.system"],
    ["own inbox", "_INBOX_r1.a.>", "_INBOX_r1.a.x"],
    ["own room public subject", "sysPublic.r1", "sysPublic.r1"],
  ])("subscribe to %s (%s) receives what is published on %s", async (_name, subject, publishOn) => {
    const sub = a.subscribe(subject);
    await a.flush();
    const payload = crypto.randomUUID();
    observer.publish(publishOn, payload);
    expect(await receives(sub, payload)).toBe(true);
  });

  it.each([
    ["another room's chat", "chat.r2"],
    ["everyone's chat subjects of another room", "chat.r2.*"],
    ["the chat subjects of every room", "chat.>"],
    ["another room's public subject", "sysPublic.r2"],
    ["another user's private subject", "sysPrivate.r1.b.>"],
    ["all private subjects of the room", "sysPrivate.r1.>"],
    ["another user's inbox", "_INBOX_r1.b.>"],
    ["everyone's inboxes, as upstream allows", "_INBOX.>"],
    ["another user's worker requests", "sysJsWorker.r1.b"],
    ["the JetStream API", "$JS.API.>"],
    ["KV updates", "$KV.>"],
    ["system events", "$SYS.>"],
    ["everything", ">"],
  ])("subscribe to %s (%s) is refused by the server", async (_name, subject) => {
    // nats.js closes a subscription the server refused with the refusal.
    const closedWith = await within(a.subscribe(subject).closed, `refusal of the subscription to ${subject}`);
    expect(closedWith).toBeInstanceOf(PermissionViolationError);
    expect(closedWith).toMatchObject({ operation: "subscription", subject });
  });
});
