// Faults on a scaled-out deployment (README.md, "Running at scale"): a 3-node
// NATS cluster with every bucket and stream replicated 3 times, and pnm-server
// processes on it. During a bounded stream of joins (VerifyToken, the NATS
// WebSocket connect through the auth callout, the initial data, with pnm's
// own client) one NATS node is SIGKILLed (the leader of the seat and nonce
// buckets), then one pnm instance, then the other gets SIGTERM and a new one
// starts. After each fault nothing is lost
// (rooms, removals, blocks, seats), the participant limit holds exactly,
// participants are back and chat, and every refusal has a name. Each fault
// prints a line of figures, also appended to .reports/cluster-faults.txt.
import { randomBytes } from "node:crypto";
import { appendFile, mkdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { tokenAuthenticator, wsconnect } from "@nats-io/nats-core";
import {
  FailureReason,
  failureReason,
  JoinRefusedError,
  joinSession,
  type ParticipantSession,
  type RoomServiceClient,
  SessionError,
} from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { createParticipantClient } from "@pnm/client/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PnmProcess, startPnmProcess, startTestCluster, type TestCluster } from "../../src/testing/index.js";
import { signedClient } from "../support/clients.js";
import { waitFor } from "../support/participants.js";

const apiKey = "pnm-faults";
const apiSecret = randomBytes(32).toString("base64url");
const reportFile = fileURLToPath(new URL("../../../.reports/cluster-faults.txt", import.meta.url));
/** Users joining per fault; every sixth is an extra joiner for the full room, to be refused. */
const joinsPerFault = 48;
const concurrency = 4;
/** A join that has not settled by then is a hang: the test fails. */
const joinTimeoutMs = 30_000;
const limit = 4;
/** How long after a fault joins may keep failing before the test gives up on them. */
const recoveryLimitMs = 60_000;

let cluster: TestCluster;
const started: PnmProcess[] = [];
/** The instances meant to be serving, which joins and API calls go to in turn. */
let serving: PnmProcess[] = [];
const sessions = new Set<ParticipantSession>();
const ended: string[] = [];
let turn = 0;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextUrl = () => serving[turn++ % serving.length]!.url;
const admin = (url = nextUrl()): RoomServiceClient => retrying(signedClient(url, apiKey, apiSecret, "connect"));
const participantApi = (url: string, token: string) =>
  retrying(createParticipantClient({ baseUrl: url, token: () => token }));

/** API calls refused NATS_UNAVAILABLE and tried again, since the last report. */
let unavailableRetries = 0;

/**
 * A client whose calls are tried again while they are refused NATS_UNAVAILABLE,
 * for up to 30 s, as the refusal invites: the streams a killed node led have
 * no leader until the others elect one (NATS's Raft elections take seconds).
 */
function retrying<T extends object>(client: T): T {
  return new Proxy(client, {
    get(target, key) {
      const method = Reflect.get(target, key) as unknown;
      if (typeof method !== "function") return method;
      return async (...args: unknown[]) => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            return await method.apply(target, args);
          } catch (err) {
            if (failureReason(err) !== FailureReason.NATS_UNAVAILABLE || Date.now() > deadline) throw err;
            unavailableRetries++;
            await delay(250);
          }
        }
      };
    },
  });
}

async function startInstance(): Promise<PnmProcess> {
  const n = started.length + 1;
  const pnm = await startPnmProcess({
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...cluster.env,
      PNM_HOST: "127.0.0.1",
      PNM_HTTP_PORT: "0",
      PNM_API_KEY: apiKey,
      PNM_API_SECRET: apiSecret,
      PNM_DATA_DIR: join(cluster.dir, `pnm-${n}`),
      // Seats are kept through every outage here, so that a seat holder always finds its seat.
      PNM_OFFLINE_AFTER: "60s",
    },
  });
  started.push(pnm);
  return pnm;
}

/**
 * Joins with pnm's client; a join that does not settle within joinTimeoutMs
 * rejects as a hang. A request over NATS that a fault took with it (the
 * instance that had it killed, or the node it was on) is not answered: the
 * client gives up after its request timeout with a NatsTimeoutError, named
 * TIMEOUT by its code.
 */
async function joinRoom(token: string, url = nextUrl()): Promise<ParticipantSession> {
  const joining = joinSession({ baseUrl: url, token, webSocket: nodeWebSocket });
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HangError(`join via ${url} not settled in ${joinTimeoutMs} ms`)),
      joinTimeoutMs,
    );
  });
  try {
    const session = await Promise.race([joining, hang]);
    sessions.add(session);
    session.on("ended", (err) => void ended.push(`${session.roomId}/${session.userId}: ${refusalName(err)}`));
    return session;
  } catch (err) {
    if (err instanceof HangError)
      void joining.then(
        (late) => late.leave(),
        () => undefined,
      );
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

class HangError extends Error {}

/**
 * A refusal's name: the server's FailureReason, else the first code in the
 * chain of causes (ECONNRESET, a NATS error code), else the innermost
 * error class that says more than Error; "unnamed" if there is none.
 */
function refusalName(err: unknown): string {
  if (err instanceof HangError) return "HANG";
  const reason = err instanceof SessionError ? err.reason : failureReason(err);
  if (reason !== undefined && reason !== FailureReason.UNSPECIFIED) return FailureReason[reason]!;
  const chain: Error[] = [];
  for (let cause = err; cause instanceof Error && chain.length < 8; cause = cause.cause) chain.push(cause);
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c) => typeof c === "string");
  if (code) return code as string;
  const generic = new Set(["Error", "TypeError", "SessionError", "JoinRefusedError", "ConnectError"]);
  const named = chain.filter((e) => !generic.has(e.name)).at(-1);
  if (named) return named.name;
  if (err instanceof ConnectError) return `connect code ${err.code}`;
  return "unnamed";
}

/** An error and its causes, one line, for failure messages. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let cause = err; cause !== undefined && parts.length < 8; cause = (cause as Error).cause)
    parts.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
  return parts.join(" <- ");
}

const issue = async (roomId: string, userId: string) =>
  (await admin().getJoinToken({ roomId, userInfo: { name: userId, userId } })).token!;

async function createRoom(roomId: string, maxParticipants?: number) {
  const created = await admin().createRoom({
    roomId,
    maxParticipants,
    metadata: {
      roomTitle: roomId,
      roomFeatures: { endToEndEncryptionFeatures: { isEnabled: true, includedChatMessages: true } },
    },
  });
  expect(created.status).toBe(true);
}

/** `from`'s encrypted chat reaches `to`: sent again each second (a send while reconnecting is lost), for up to 30 s. */
async function chatReaches(from: ParticipantSession, to: ParticipantSession): Promise<void> {
  const text = `hello ${to.userId} from ${from.userId} ${randomBytes(4).toString("hex")}`;
  let got = false;
  const off = to.on("chat", (message) => {
    if (message.message === text && message.sender.userId === from.userId) got = true;
  });
  try {
    await waitFor(async () => {
      await from.sendChat(text).catch(() => undefined);
      for (let i = 0; i < 20 && !got; i++) await delay(50);
      return got;
    }, 30_000).catch((err: unknown) => {
      throw new Error(
        `${from.userId}'s chat did not reach ${to.userId}; sessions ended: ${ended.join("; ") || "none"}`,
        {
          cause: err,
        },
      );
    });
  } finally {
    off();
  }
}

// The state that must outlive every fault.
const chatRoom = "faults-chat";
const limitedRoom = "faults-limited";
let alice: ParticipantSession;
let bob: ParticipantSession;
let holders: ParticipantSession[] = [];
let removedToken: string;
let blockedToken: string;

beforeAll(async () => {
  cluster = await startTestCluster();
  // One after the other: the first makes the replicated buckets and streams.
  serving = [await startInstance()];
  serving.push(await startInstance());
  await createRoom(chatRoom);
  await createRoom(limitedRoom, limit);
  alice = await joinRoom(await issue(chatRoom, "alice"));
  bob = await joinRoom(await issue(chatRoom, "bob"));
  for (let i = 0; i < limit; i++) holders.push(await joinRoom(await issue(limitedRoom, `holder${i}`)));

  // A removed user (its old token revoked by the token generation) and a blocked one.
  removedToken = await issue(chatRoom, "mallory");
  const mallory = await joinRoom(removedToken);
  await admin().removeParticipant({ roomId: chatRoom, userId: "mallory" });
  await waitFor(() => ended.some((line) => line.startsWith(`${chatRoom}/mallory`)), 10_000);
  sessions.delete(mallory);
  blockedToken = await issue(chatRoom, "eve");
  const eve = await joinRoom(blockedToken);
  await admin().removeParticipant({ roomId: chatRoom, userId: "eve", blockUser: true });
  await waitFor(() => ended.some((line) => line.startsWith(`${chatRoom}/eve`)), 10_000);
  sessions.delete(eve);
  ended.length = 0;
  await mkdir(join(reportFile, ".."), { recursive: true });
  await appendFile(
    reportFile,
    `# ${new Date().toISOString()}: 3 NATS nodes (replicas 3), 2 pnm-server processes, ${joinsPerFault} joins per fault, ${concurrency} at a time; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}\n`,
  );
}, 150_000);

afterAll(async () => {
  await Promise.all([...sessions].map((session) => session.leave().catch(() => undefined)));
  await Promise.all(started.map((pnm) => pnm.kill("SIGKILL")));
  await cluster?.stop();
}, 30_000);

interface JoinStream {
  attempted: number;
  succeeded: number;
  refused: Map<string, number>;
  /** The first error of each refusal name, for the failure message. */
  samples: Map<string, string>;
  /** An extra joiner of the full room that got in: over-admission. */
  overAdmitted: number;
  /** The ms from the fault to the end of the first join started after it that got in; undefined if none did. */
  recoveryMs?: number;
}

/**
 * Runs `joinsPerFault` joins, `concurrency` at a time, over the serving
 * instances: new users in a room of their own, and every sixth an extra one
 * for the full room. `fault` runs once 8 joins have settled. Until a join
 * started after the fault gets in, a refused user tries again 250 ms later
 * (as a client backs off), for at most `recoveryLimitMs`.
 */
async function joinStream(name: string, fault: () => Promise<void>): Promise<JoinStream> {
  const streamRoom = `faults-stream-${name}`;
  await createRoom(streamRoom);
  const jobs: { token: string; limited: boolean }[] = [];
  for (let i = 0; i < joinsPerFault; i++) {
    const limited = i % 6 === 5;
    jobs.push({ token: await issue(limited ? limitedRoom : streamRoom, `${name}-${i}`), limited });
  }
  const result: JoinStream = { attempted: 0, succeeded: 0, refused: new Map(), samples: new Map(), overAdmitted: 0 };
  let settled = 0;
  let faultAt: number | undefined;
  let faulted: Promise<void> | undefined;
  const giveUp = () => faultAt !== undefined && Date.now() - faultAt > recoveryLimitMs;
  async function slot(): Promise<void> {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const begin = Date.now();
      result.attempted++;
      try {
        await joinRoom(job.token);
        if (job.limited) result.overAdmitted++;
        else {
          result.succeeded++;
          if (faultAt !== undefined && begin >= faultAt) result.recoveryMs ??= Date.now() - faultAt;
        }
      } catch (err) {
        const reason = refusalName(err);
        result.refused.set(reason, (result.refused.get(reason) ?? 0) + 1);
        if (!result.samples.has(reason)) result.samples.set(reason, describeError(err));
        if (!job.limited && result.recoveryMs === undefined && reason !== "HANG" && !giveUp()) {
          await delay(250);
          jobs.push(job);
        }
      }
      if (++settled === 8) {
        faultAt = Date.now();
        faulted = fault();
        // Awaited once the stream is over; until then its failure must not count as unhandled.
        faulted.catch(() => undefined);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, slot));
  await faulted;
  return result;
}

/** Everything that must have survived: rooms, the removal, the block, the limit and its seats, the sessions and chat. */
async function checkNothingLost(): Promise<void> {
  for (const pnm of serving) {
    for (const roomId of [chatRoom, limitedRoom]) {
      expect((await admin(pnm.url).isRoomActive({ roomId })).isActive, `${roomId} via ${pnm.url}`).toBe(true);
    }
    // The removed user's old token stays refused (its token generation is behind), a new one is let in.
    const removed = await participantApi(pnm.url, removedToken)
      .verifyToken({})
      .catch((err: unknown) => err);
    expect(failureReason(removed)).toBe(FailureReason.USER_REMOVED);
    const renewed = await issue(chatRoom, "mallory");
    expect((await participantApi(pnm.url, renewed).verifyToken({})).status).toBe(true);
    // The blocked user stays blocked: its token is refused and no new one is issued.
    const blocked = await participantApi(pnm.url, blockedToken)
      .verifyToken({})
      .catch((err: unknown) => err);
    expect(failureReason(blocked)).toBe(FailureReason.USER_BLOCKED);
    const reissue = await admin(pnm.url)
      .getJoinToken({ roomId: chatRoom, userInfo: { name: "eve", userId: "eve" } })
      .catch((err: unknown) => err);
    expect(failureReason(reissue)).toBe(FailureReason.USER_BLOCKED);
  }
  // Every participant is back and chats, encrypted end to end.
  await chatReaches(alice, bob);
  await chatReaches(bob, alice);
  await Promise.all(holders.map((from, i) => chatReaches(from, holders[(i + 1) % holders.length]!)));
  expect(ended).toEqual([]);

  // A seat holder who leaves gets back in while others storm the full room, and nobody more does.
  const [leaving, ...staying] = holders;
  const token = leaving!.token();
  await leaving!.leave();
  sessions.delete(leaving!);
  const extras = await Promise.all(
    Array.from({ length: 4 }, (_, i) => issue(limitedRoom, `extra-${randomBytes(3).toString("hex")}-${i}`)),
  );
  const [back, ...others] = await Promise.all([
    // Until its disconnect is seen the seat is still online: that refusal is named, and the rejoin tried again.
    waitFor(
      () =>
        joinRoom(token).catch((err: unknown) => {
          if (err instanceof JoinRefusedError && err.reason === FailureReason.USER_ALREADY_ONLINE) return undefined;
          throw err;
        }),
      20_000,
    ),
    ...extras.map((extra) => joinRoom(extra).then(() => "admitted", refusalName)),
  ]);
  expect(others).toEqual(extras.map(() => "ROOM_FULL"));
  holders = [back, ...staying];
  await chatReaches(back, staying[0]!);
}

/** A line of figures, printed and appended to the report file. */
async function reportLine(line: string): Promise<void> {
  console.log(line);
  await appendFile(reportFile, `${line}\n`);
}

async function report(name: string, stream: JoinStream): Promise<void> {
  const reasons = [...stream.refused].map(([reason, n]) => `${reason} ${n}`).join(", ") || "none";
  const refused = [...stream.refused.values()].reduce((sum, n) => sum + n, 0);
  await reportLine(
    `fault ${name}: joins attempted ${stream.attempted}, succeeded ${stream.succeeded}, refused ${refused} (${reasons}), recovery ${stream.recoveryMs ?? "none"} ms`,
  );
}

/** The API calls `name`'s checks had to try again, NATS_UNAVAILABLE while the cluster elected leaders. */
async function reportRetries(name: string): Promise<void> {
  await reportLine(`fault ${name}: API calls retried after NATS_UNAVAILABLE ${unavailableRetries}`);
  unavailableRetries = 0;
}

/** The streams (KV buckets among them) whose leader is the node named `node`: they have none for a while after it dies. */
async function streamsLedBy(node: string): Promise<string[]> {
  const nc = await cluster.connect("pnm-test-leaders");
  try {
    const led: string[] = [];
    for await (const info of (await jetstreamManager(nc)).streams.list())
      if (info.cluster?.leader === node) led.push(info.config.name);
    return led.sort();
  } finally {
    await nc.close();
  }
}

/** Every refusal is named (no hang, nothing unnamed), no extra joiner of the full room got in, and joins came back. */
function checkStream(stream: JoinStream): void {
  const samples = JSON.stringify(Object.fromEntries(stream.samples), null, 1);
  expect(stream.refused.get("HANG") ?? 0, samples).toBe(0);
  expect(stream.refused.get("unnamed") ?? 0, samples).toBe(0);
  expect(stream.overAdmitted).toBe(0);
  expect(stream.recoveryMs).toBeDefined();
  expect(stream.succeeded + [...stream.refused.values()].reduce((sum, n) => sum + n, 0)).toBe(stream.attempted);
}

async function leaveStream(): Promise<void> {
  const fixtures = new Set([alice, bob, ...holders]);
  const stream = [...sessions].filter((session) => !fixtures.has(session));
  await Promise.all(stream.map((session) => session.leave()));
  for (const session of stream) sessions.delete(session);
}

/** Steps the leader of `stream` down until the node named `node` leads it (each step elects a random peer). */
async function leadOn(node: string, stream: string): Promise<void> {
  const nc = await cluster.connect("pnm-test-stepdown");
  try {
    const jsm = await jetstreamManager(nc);
    const leader = async () => (await jsm.streams.info(stream)).cluster?.leader;
    for (let steps = 0; (await leader()) !== node; steps++) {
      if (steps === 20) throw new Error(`${node} did not come to lead ${stream} in 20 leader elections`);
      const before = await leader();
      await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, { timeout: 10_000 });
      await waitFor(async () => {
        const now = await leader().catch(() => undefined);
        return now !== undefined && now !== before;
      }, 30_000);
    }
  } finally {
    await nc.close();
  }
}

describe("faults on a 3-node NATS cluster with two pnm instances", { timeout: 120_000 }, () => {
  it("loses nothing when a NATS node is SIGKILLed", async () => {
    // The first node: every participant's WebSocket is there (the first URL that answers), so all of them reconnect.
    const node = cluster.nodes[0]!;
    // A participant whose page closes with the node: nothing reconnects it, and the node sends no DISCONNECT.
    const carolToken = await issue(chatRoom, "carol");
    const closedPage = await wsconnect({
      servers: [node.wsUrl],
      authenticator: tokenAuthenticator(() => carolToken),
      reconnect: false,
      wsFactory: async (url) => ({ socket: new nodeWebSocket(url), encrypted: false }),
    });
    // The worst case: the node leads the seats bucket, which every join writes, and the nonce bucket, which every
    // signed API call writes. Until the others elect new leaders (seconds) joins are refused and API calls meet
    // NATS_UNAVAILABLE; without a leader there, recovery took under half a second.
    await leadOn(node.name, "KV_pnm-seats");
    await leadOn(node.name, "KV_pnm-nonces");
    const led = await streamsLedBy(node.name);
    try {
      const stream = await joinStream("nats-node", () => node.kill("SIGKILL"));
      await closedPage.closed();
      await report("nats-node-killed", stream);
      await reportLine(`fault nats-node-killed: the node led ${led.join(", ")}`);
      checkStream(stream);
      await checkNothingLost();
      expect(ended).toEqual([]);
      // Opened again, the page joins: the seat the dead node held does not count as online.
      const carol = await joinRoom(carolToken);
      expect(carol.userId).toBe("carol");
      await carol.leave();
      sessions.delete(carol);
      await leaveStream();
      await reportRetries("nats-node-killed");
    } finally {
      // Back for the faults that follow, whatever this one found.
      node.restart();
      await waitFor(
        () =>
          fetch(`${node.monitorUrl}/healthz?js-enabled-only=true`).then(
            (res) => res.ok,
            () => false,
          ),
        30_000,
      );
    }
  });

  it("loses nothing when a pnm instance is SIGKILLed", async () => {
    const victim = serving[0]!;
    const stream = await joinStream("pnm-kill", async () => {
      serving = serving.filter((pnm) => pnm !== victim);
      expect(await victim.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    });
    await report("pnm-instance-killed", stream);
    checkStream(stream);
    await checkNothingLost();
    await leaveStream();
    // A replacement, as a supervisor would start one, serves the same state.
    serving.push(await startInstance());
    await checkNothingLost();
    await reportRetries("pnm-instance-killed");
  });

  it("loses nothing when the other pnm instance gets SIGTERM and a new one starts", async () => {
    const leaving = serving[0]!;
    const stream = await joinStream("pnm-term", async () => {
      serving = serving.filter((pnm) => pnm !== leaving);
      const [exit, replacement] = await Promise.all([leaving.kill("SIGTERM"), startInstance()]);
      expect(exit).toEqual({ code: 0, signal: null });
      serving.push(replacement);
    });
    await report("pnm-instance-sigterm-and-new", stream);
    checkStream(stream);
    await checkNothingLost();
    await leaveStream();
    await reportRetries("pnm-instance-sigterm-and-new");
  });
});
