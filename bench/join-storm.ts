/**
 * A join storm: `--participants` users each run the whole join (VerifyToken,
 * the NATS WebSocket connect through the auth callout, the initial data),
 * `--concurrency` at a time, against one pnm server with its own
 * nats-server, on loopback: all in one room without a limit, then (in new
 * rooms) spread over ten rooms without a limit, then `--limited-joiners` into
 * one room with a limit of `--limit`, where exactly the limit is to be
 * admitted and the rest refused (expected refusals, not errors). Joined
 * participants stay connected until their storm is over. The clients run in
 * a child process, off the server's event loop. Prints joins per second,
 * p50/p99 join time, errors by kind and the seats the server gave against
 * the limit, then the result lines. Tokens are issued up front: issuing them
 * is not what this measures.
 * With --cluster the same storms run against a scaled-out deployment: a
 * 3-node NATS cluster (JetStream, replicas 3) and two pnm-server processes,
 * as `npm run cluster` starts them; participants alternate between the two
 * instances, and each instance hands out the nodes' WebSocket URLs starting
 * from a different node.
 * Usage: npm run bench:join [-- --participants 1000] [--concurrency 50] [--limit 100] [--limited-joiners 300] [--clients-in-process] [--cluster]
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { NatsConnection } from "@nats-io/nats-core";
import { createRoomServiceClient } from "@pnm/client";
import { isSeatLive } from "../server/src/rooms/seats.js";
import { createRoomStore } from "../server/src/store/room-store.js";
import { startBenchDeployment } from "./bench-deployment.js";
import { startClusterDeployment } from "./cluster-deployment.js";
import {
  type JoinStormJob,
  type JoinStormReport,
  type JoinStormRequest,
  leaveAll,
  runJoinStorm,
} from "./join-storm-clients.js";
import { machineCpuMs, ownCpuMs, processCpuMs } from "./process-cpu.js";
import { machineLine, ratioLine } from "./report.js";
import { formatTable, percentile } from "./stats.js";

const { values } = parseArgs({
  options: {
    participants: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "50" },
    limit: { type: "string", default: "100" },
    "limited-joiners": { type: "string", default: "300" },
    "clients-in-process": { type: "boolean", default: false },
    cluster: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench:join -- [options]

A join storm on loopback: each participant runs the whole join (VerifyToken, the NATS
WebSocket connect through the auth callout, the initial data); one room, ten rooms, then
one room with a limit, where exactly the limit is to be admitted.

Options:
  --participants N       joiners of the one-room and ten-room storms (default 1000)
  --concurrency N        joins in flight at once (default 50)
  --limit N              the limited room's participant limit (default 100)
  --limited-joiners N    joiners of the limited room (default 300)
  --clients-in-process   run the participants in this process, not in a child process
  --cluster              against a 3-node NATS cluster (replicas 3) and two pnm-server
                         processes, participants alternating between them, instead of one
                         pnm server with its own nats-server
  -h, --help             print this and exit`);
  process.exit(0);
}
const machine = machineLine(); // before this bench adds its own load
const participants = Number(values.participants);
const concurrency = Number(values.concurrency);
const limit = Number(values.limit);
const limitedJoiners = Number(values["limited-joiners"]);
if (!(participants >= 10 && concurrency >= 1 && limit >= 1 && limitedJoiners >= limit)) {
  throw new Error("need --participants >= 10, --concurrency >= 1, --limit >= 1 and --limited-joiners >= --limit");
}
/** The target for the whole storm: 200 joins per second, 5 s for the default 1,000. */
const targetSeconds = participants / 200;

/** What the storms run against: where participants call, and how to account for the servers' CPU. */
interface StormTarget {
  baseUrls: string[];
  apiKey: string;
  apiSecret: string;
  /** A connection with the pnm server's identity, for reading the seats. */
  nc: NatsConnection;
  /** CPU ms so far of the nats-server processes and of pnm (this process when pnm runs in it). */
  cpu(): { nats?: number; pnm?: number };
  close(): Promise<void>;
}

async function startTarget(cluster: boolean): Promise<StormTarget> {
  const sum = (pids: number[]) =>
    pids.reduce<number | undefined>((total, pid) => {
      const ms = processCpuMs(pid);
      return total === undefined || ms === undefined ? undefined : total + ms;
    }, 0);
  if (cluster) {
    const deployment = await startClusterDeployment(2);
    return {
      ...deployment,
      cpu: () => ({ nats: sum(deployment.pids().nats), pnm: sum(deployment.pids().pnm) }),
    };
  }
  const deployment = await startBenchDeployment(0);
  const { config, server, nats, nc } = deployment;
  return {
    baseUrls: [server.url],
    apiKey: config.apiKey,
    apiSecret: config.apiSecret,
    nc,
    cpu: () => ({ nats: processCpuMs(nats.pid), pnm: ownCpuMs() }),
    close: () => deployment.close(),
  };
}

const target = await startTarget(values.cluster);
const rooms = createRoomServiceClient({
  baseUrl: target.baseUrls[0]!,
  apiKey: target.apiKey,
  apiSecret: target.apiSecret,
});
const store = await createRoomStore({ nc: target.nc });

/** Where the participants run: a child process by default, so their event loop and GC stay off the pnm server's. */
function startClients(inProcess: boolean): { send(request: JoinStormRequest): Promise<unknown>; close(): void } {
  if (inProcess) {
    return {
      send: (request) => ("job" in request ? runJoinStorm(request.job) : leaveAll()),
      close: () => {},
    };
  }
  const child: ChildProcess = fork(fileURLToPath(new URL("./join-storm-process.ts", import.meta.url)), {
    execArgv: ["--conditions=pnm-source", "--import", "tsx"],
    serialization: "advanced",
  });
  return {
    send: (request) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`join storm client process exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (answer: { report?: unknown; error?: string }) => {
          child.off("exit", onExit);
          if (answer.error === undefined) resolve(answer.report);
          else reject(new Error(answer.error));
        });
        child.send(request);
      }),
    close: () => child.kill(),
  };
}
const clients = startClients(values["clients-in-process"]);

/** Rooms `${prefix}-0` … and a join token for each user, interleaved over the rooms (user i in room i % rooms). */
async function prepare(prefix: string, roomCount: number, users: number, maxParticipants?: number): Promise<string[]> {
  const roomIds = Array.from({ length: roomCount }, (_, r) => `${prefix}-${r}`);
  for (const roomId of roomIds) {
    await rooms.createRoom({ roomId, maxParticipants, metadata: { roomTitle: roomId, roomFeatures: {} } });
  }
  const tokens: string[] = [];
  for (let first = 0; first < users; first += 50) {
    const batch = Array.from({ length: Math.min(50, users - first) }, (_, i) => first + i);
    const answers = await Promise.all(
      batch.map((i) => {
        const userId = `user${i}`;
        return rooms.getJoinToken({ roomId: roomIds[i % roomCount], userInfo: { name: userId, userId } });
      }),
    );
    for (const { token } of answers) tokens.push(token!);
  }
  return tokens;
}

/** Seats the server holds for live connections in these rooms (pending or connected), from its KV. */
async function seatsTaken(prefix: string, roomCount: number): Promise<number> {
  let taken = 0;
  for (let r = 0; r < roomCount; r++) {
    for (const key of await store.seats.keys(`${prefix}-${r}.*`)) {
      const seat = (await store.seats.get(key))?.value.seat;
      if (seat && isSeatLive(seat, Date.now(), { pendingMs: 60_000, offlineAfterMs: 0 }))
        taken += seat.state === "pending" || seat.state === "connected" ? 1 : 0;
    }
  }
  return taken;
}

interface StormResult {
  name: string;
  joiners: number;
  report: JoinStormReport;
  /** Seats the server gave, read once the storm was over and before anyone left. */
  seats: number;
  /** CPU ms per join: nats-server, pnm (this process), the clients, everything else on the machine. */
  cpu: (number | undefined)[];
}

async function storm(name: string, prefix: string, roomCount: number, users: number, max?: number) {
  const tokens = await prepare(prefix, roomCount, users, max);
  const job: JoinStormJob = { baseUrls: target.baseUrls, tokens, concurrency, limited: max !== undefined };
  const before = { ...target.cpu(), machine: machineCpuMs() };
  const report = (await clients.send({ job })) as JoinStormReport;
  const after = { ...target.cpu(), machine: machineCpuMs() };
  const seats = await seatsTaken(prefix, roomCount);
  await clients.send({ leave: true });
  const delta = (key: keyof typeof before) =>
    before[key] === undefined || after[key] === undefined ? undefined : after[key]! - before[key]!;
  const [natsCpu, pnmCpu, machineCpu] = [delta("nats"), delta("pnm"), delta("machine")];
  const clientsCpu = values["clients-in-process"] ? 0 : report.cpuMs;
  const othersCpu =
    natsCpu === undefined || pnmCpu === undefined || machineCpu === undefined
      ? undefined
      : Math.max(0, machineCpu - natsCpu - pnmCpu - clientsCpu);
  const joined = Math.max(1, report.latenciesMs.length);
  const cpu = [natsCpu, pnmCpu, clientsCpu, othersCpu].map((ms) => (ms === undefined ? undefined : ms / joined));
  return { name, joiners: users, report, seats, cpu } satisfies StormResult;
}

// Warm-up: JIT, HTTP and KV buckets settle before anything counts (its own room, left before the storms).
await storm("warm-up", "warm", 1, Math.min(100, participants));

const results = [
  await storm("one room", "one", 1, participants),
  await storm("ten rooms", "ten", 10, participants),
  await storm(`one room, limit ${limit}`, "limited", 1, limitedJoiners, limit),
];
clients.close();
await target.close();

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((s, n) => s + n, 0);
const kinds = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ") || "none";
const ms = (x: number) => x.toFixed(1);
const rows = [
  [
    "storm",
    "joiners",
    "joined",
    "seconds",
    "joins/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "refused (full)",
    "seats",
    "cpu ms/join: nats-server",
    "pnm",
    "clients",
    "others",
  ],
];
for (const { name, joiners, report, seats, cpu } of results) {
  const sorted = [...report.latenciesMs].sort((a, b) => a - b);
  rows.push([
    name,
    String(joiners),
    String(report.latenciesMs.length),
    (report.elapsedMs / 1000).toFixed(2),
    ((report.latenciesMs.length * 1000) / report.elapsedMs).toFixed(0),
    ms(percentile(sorted, 50)),
    ms(percentile(sorted, 99)),
    String(sum(report.errors)),
    String(sum(report.refusals)),
    String(seats),
    ...cpu.map((x) => (x === undefined ? "n/a" : x.toFixed(2))),
  ]);
}
console.log(machine);
console.log(
  values.cluster
    ? `against a 3-node NATS cluster (replicas 3) and ${target.baseUrls.length} pnm-server processes, participants alternating between them`
    : "against one pnm server (in this process) with its own nats-server",
);
console.log(
  `${participants} participants, ${concurrency} joins at a time; each join: VerifyToken (Connect), NATS WebSocket connect through the auth callout, initial data`,
);
console.log(formatTable(rows));
for (const { name, report } of results) {
  console.log(`  ${name}: errors ${kinds(report.errors)}; expected refusals ${kinds(report.refusals)}`);
  if (report.firstError) console.log(`    first error: ${report.firstError}`);
}
console.log("");

const [one, ten, limited] = results;
for (const [label, result] of [
  ["one room", one],
  ["ten rooms", ten],
] as const) {
  const { report } = result;
  const sorted = [...report.latenciesMs].sort((a, b) => a - b);
  const prefix = `join storm ${participants} joins, ${label}`;
  console.log(ratioLine(`${prefix}, seconds`, report.elapsedMs / 1000, { atMost: targetSeconds }, 1));
  console.log(ratioLine(`${prefix}, joins/s`, (report.latenciesMs.length * 1000) / report.elapsedMs, undefined, 0));
  console.log(ratioLine(`${prefix}, p50 ms`, percentile(sorted, 50), undefined, 0));
  console.log(ratioLine(`${prefix}, p99 ms`, percentile(sorted, 99), undefined, 0));
}
const admitted = limited.report.latenciesMs.length;
console.log(ratioLine(`join storm limit ${limit}, ${limitedJoiners} joiners, admitted`, admitted, undefined, 0));
console.log(ratioLine(`join storm limit ${limit}, seats given`, limited.seats, undefined, 0));
console.log(ratioLine(`join storm limit ${limit}, expected refusals`, sum(limited.report.refusals), undefined, 0));
console.log(
  ratioLine("join storm over-admission", Math.max(0, admitted - limit, limited.seats - limit), { atMost: 0 }, 0),
);
console.log(ratioLine("join storm under-admission", Math.max(0, limit - admitted), { atMost: 0 }, 0));
console.log(
  ratioLine(
    "join storm errors",
    results.reduce((n, r) => n + sum(r.report.errors), 0),
    { atMost: 0 },
    0,
  ),
);
