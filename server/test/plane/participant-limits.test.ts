import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { jetstream } from "@nats-io/jetstream";
import { type NatsConnection, ProtocolError } from "@nats-io/nats-core";
import type { RoomServiceClient } from "@pnm/client";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { connectAs, issueToken, request } from "../support/participants.js";

// Limits far below pnm's defaults, so that a flood is short. pnm's own connection holds about 10 subscriptions.
const maxSubscriptions = 24;
const requestLimit = { rate: 5, burst: 10 };
const publishLimit = { rate: 400, bytes: 256 * 1024, intervalMs: 250 };
const roomId = "limits";

let nats: TestNats;
let pnm: TestServer;
let rooms: RoomServiceClient;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startTestNats({ accountLimits: { maxSubscriptions, maxPayload: 1024 * 1024 } });
  const config = testConfig(nats, {
    requestRate: requestLimit.rate,
    requestBurst: requestLimit.burst,
    publishRate: publishLimit.rate,
    publishByteRate: publishLimit.bytes,
    publishCheckIntervalMs: publishLimit.intervalMs,
  });
  pnm = await startTestServer(nats, config);
  rooms = signedClient(pnm.server.url, config.apiKey, config.apiSecret, "connect");
  await rooms.createRoom({ roomId, maxParticipants: 50, metadata: { roomTitle: "Limits", roomFeatures: {} } });
});
afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await pnm?.close();
  await nats?.stop();
});

async function join(userId: string): Promise<NatsConnection> {
  const nc = await connectAs(nats, roomId, userId, await issueToken(rooms, roomId, userId));
  connections.push(nc);
  return nc;
}

/** Every server message on the participant's private subject, decoded, from now on. */
async function privateMessages(nc: NatsConnection, userId: string): Promise<NatsMsgServerToClient[]> {
  const received: NatsMsgServerToClient[] = [];
  nc.subscribe(`sysPrivate.${roomId}.${userId}.>`, {
    callback: (err, m) => void (err || received.push(fromBinary(NatsMsgServerToClientSchema, m.data))),
  });
  await nc.flush();
  return received;
}

const envelope = (event: NatsMsgClientToServerEvent, msg = "", id: string = crypto.randomUUID()) =>
  toBinary(NatsMsgClientToServerSchema, create(NatsMsgClientToServerSchema, { id, event, msg }));

const reasonOf = (answer: NatsMsgServerToClient) =>
  answer.binMsg.length ? fromBinary(ErrorDetailSchema, answer.binMsg).reason : undefined;

/** Polls `probe` every 10 ms until it holds; fails after `ms` (a bound on a wait for something that must come). */
async function until(probe: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A bystander's PING, answered while the flood goes on: the time it took, for the report (tests assert no timings). */
async function bystanderPing(
  nc: NatsConnection,
  userId: string,
): Promise<{ answer: NatsMsgServerToClient; ms: number }> {
  const started = performance.now();
  const answer = await request(
    nc,
    roomId,
    userId,
    NatsMsgClientToServerEvent.PING,
    "",
    NatsMsgServerToClientEvent.PONG,
  );
  return { answer, ms: Math.round(performance.now() - started) };
}

describe("subscriptions per connection (PNM_NATS_MAX_SUBSCRIPTIONS, enforced by nats-server)", () => {
  it("refuses a participant's subscriptions past the limit, so 200 subscriptions to the chat get each message 24 times, not 200", async () => {
    const greedy = await join("greedy");
    const talker = await join("talker");
    const refusals: unknown[] = [];
    void (async () => {
      for await (const status of greedy.status()) if (status.type === "error") refusals.push(status.error);
    })();
    let copies = 0;
    for (let i = 0; i < 200; i++) greedy.subscribe(`chat.${roomId}`, { callback: () => void copies++ });
    await greedy.flush();
    // The server answered each SUB before the PONG: 24 taken, 176 refused with -ERR.
    await until(() => refusals.length === 200 - maxSubscriptions, "a refusal for each subscription past the limit");
    expect(refusals.every((e) => e instanceof ProtocolError)).toBe(true);

    talker.publish(`chat.${roomId}`, "once");
    // Once the talker's PONG is back, the server has routed the message; once greedy's is, greedy has read every copy.
    await talker.flush();
    await greedy.flush();
    expect(copies).toBe(maxSubscriptions);
    expect(greedy.isClosed()).toBe(false);
  });
});

describe("requests per participant (PNM_REQUEST_RATE, PNM_REQUEST_BURST)", () => {
  it("answers requests past the rate with RATE_LIMITED and serves the others' requests meanwhile", async () => {
    const flooder = await join("req-flooder");
    const bystander = await join("req-bystander");
    const answers = await privateMessages(flooder, "req-flooder");
    const started = performance.now();
    // 100 PINGs at once: within the publish limits (400 a second), far past the request rate (burst 10, 5 a second).
    for (let i = 0; i < 100; i++)
      flooder.publish(`sysCoreWorker.${roomId}.req-flooder`, envelope(NatsMsgClientToServerEvent.PING));
    await flooder.flush();
    const bystanderAnswer = await bystanderPing(bystander, "req-bystander");
    await until(
      () => answers.some((a) => reasonOf(a) === FailureReason.RATE_LIMITED),
      "a RATE_LIMITED answer to the flooder",
    );
    const seconds = (performance.now() - started) / 1000;

    expect(bystanderAnswer.answer.msg).toMatch(/^\d+$/); // a real PONG: the server time
    console.info(`bystander's PING answered in ${bystanderAnswer.ms} ms during a flood of 100 requests`);
    const served = answers.filter((a) => a.event === NatsMsgServerToClientEvent.PONG && a.msg !== "");
    const refused = answers.filter(
      (a) => a.event === NatsMsgServerToClientEvent.PONG && reasonOf(a) === FailureReason.RATE_LIMITED,
    );
    const refill = Math.ceil(requestLimit.rate * seconds);
    expect(served.length).toBeLessThanOrEqual(requestLimit.burst + refill);
    expect(refused.length).toBeGreaterThan(0);
    // Refusals are limited too: a flood of requests does not become a flood of answers.
    expect(refused.length).toBeLessThanOrEqual(requestLimit.burst + refill);
    expect(flooder.isClosed()).toBe(false);
  });

  it("refuses a renewal past the rate with a RenewalFailure naming the request, over the JetStream work queue too", async () => {
    const flooder = await join("js-flooder");
    const bystander = await join("js-bystander");
    const answers = await privateMessages(flooder, "js-flooder");
    const js = jetstream(flooder);
    const subject = `sysJsWorker.${roomId}.js-flooder`;
    const ids = Array.from({ length: 60 }, () => crypto.randomUUID());
    // Each is acknowledged by JetStream, or refused by it when the participant's share of the queue is full.
    const published = await Promise.allSettled(
      ids.map((id) => js.publish(subject, envelope(NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN, "not-a-token", id))),
    );
    expect(published.filter((p) => p.status === "fulfilled").length).toBeGreaterThan(requestLimit.burst);
    const rateLimited = () =>
      answers
        .filter((a) => a.event === NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN && a.msg === "")
        .map((a) => fromBinary(RenewalFailureSchema, a.binMsg))
        .filter((f) => f.reason === FailureReason.RATE_LIMITED);
    await until(() => rateLimited().length > 0, "a renewal refused as RATE_LIMITED");
    expect(ids).toContain(rateLimited()[0]!.requestId);
    const bystanderAnswer = await bystanderPing(bystander, "js-bystander");
    expect(bystanderAnswer.answer.msg).toMatch(/^\d+$/);
    console.info(`bystander's PING answered in ${bystanderAnswer.ms} ms after a flood of 60 JetStream requests`);
  });
});

describe("messages and bytes per participant (PNM_PUBLISH_RATE, PNM_PUBLISH_BYTE_RATE)", () => {
  /** Publishes `batch` messages of `size` bytes every `pauseMs` until the server closes the connection (at most 20 s). */
  async function floodUntilClosed(
    nc: NatsConnection,
    subject: string,
    batch: number,
    size: number,
    pauseMs: number,
  ): Promise<number> {
    const payload = new Uint8Array(size);
    const deadline = Date.now() + 20_000;
    let sent = 0;
    while (!nc.isClosed() && Date.now() < deadline) {
      try {
        for (let i = 0; i < batch; i++, sent++) nc.publish(subject, payload);
      } catch {
        break; // closed under way
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return sent;
  }

  it.each([
    ["many messages on its own chat subject", "msgs-own", (user: string) => `chat.${roomId}.${user}`, 50, 16, 1],
    [
      "many messages on upstream's shared chat subject, which names no sender",
      "msgs-shared",
      () => `chat.${roomId}`,
      50,
      16,
      1,
    ],
    [
      "large messages at a modest rate on its own data subject",
      "bytes-own",
      (user: string) => `dataChannel.${roomId}.${user}`,
      10,
      64 * 1024,
      100,
    ],
  ])(
    "ends the session of a participant sending %s (SESSION_ENDED, RATE_LIMITED, closed); the others' chat and requests go on",
    async (_what, user, subjectOf, batch, size, pauseMs) => {
      const flooder = await join(user);
      const talker = await join(`${user}-talker`);
      const listener = await join(`${user}-listener`);
      const bystander = await join(`${user}-bystander`);
      const notices = await privateMessages(flooder, user);
      const heard: string[] = [];
      listener.subscribe(`chat.${roomId}.*`, {
        callback: (err, m) => void (err || m.subject !== `chat.${roomId}.${user}-talker` || heard.push(m.string())),
      });
      await listener.flush();

      const flood = floodUntilClosed(flooder, subjectOf(user), batch, size, pauseMs);
      const bystanderAnswer = await bystanderPing(bystander, `${user}-bystander`);
      talker.publish(`chat.${roomId}.${user}-talker`, "still heard");
      const sent = await flood;

      expect(flooder.isClosed()).toBe(true);
      const ended = notices.find((n) => n.event === NatsMsgServerToClientEvent.SESSION_ENDED);
      expect(ended && reasonOf(ended)).toBe(FailureReason.RATE_LIMITED);
      expect(bystanderAnswer.answer.msg).toMatch(/^\d+$/);
      await until(() => heard.includes("still heard"), "the talker's chat at the listener");
      console.info(
        `${user}: ${sent} messages of ${size} bytes before the session ended; bystander's PING answered in ${bystanderAnswer.ms} ms`,
      );
    },
  );
});
