/**
 * Authorized NATS connects (WebSocket, through pnm's auth callout) against
 * plain ones (WebSocket, no credentials, no callout) on the same nats-server in
 * one run, on loopback: one connect at a time, then `--in-flight` at once,
 * plain and authorized alternating in `--rounds` (which goes first
 * alternating too). Prints connects per second, p50 and p99 and the CPU each
 * process spent per connect (means over the rounds), then the ratio lines.
 * All of it twice: with one pnm instance answering the callout, then with a
 * second one, in a process of its own, in the same queue group. Each time
 * it also counts the KV round trips (pnm's `pnm_store_operations_total`) of
 * `--sessions` connects with their disconnects, through to the seat given up;
 * and last it fills a room with `--large-room` participants and reports the
 * size of the room's largest key in each bucket, which must not grow with it.
 * Usage: npm run bench:callout [-- --seconds 5 | --count N] [--rounds 2] [--in-flight 50] [--users 200]
 *   [--sessions 200] [--large-room 1000] [--clients-in-process]
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { createRoomServiceClient } from "@pnm/client";
import { startBenchDeployment } from "./bench-deployment.js";
import { checkCalloutRouting } from "./callout-routing.js";
import type { ConnectJob, Participant } from "./connect-clients.js";
import { startConnectLoad } from "./connect-load.js";
import { type PnmInstance, startPnmInstance } from "./pnm-instance.js";
import { machineCpuMs, ownCpuMs, processCpuMs } from "./process-cpu.js";
import { machineLine, ratioLine } from "./report.js";
import { formatTable, percentile } from "./stats.js";
import { roomKeySizes, storeOperations } from "./store-traffic.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string" },
    count: { type: "string" },
    rounds: { type: "string", default: "2" },
    "in-flight": { type: "string", default: "50" },
    users: { type: "string", default: "200" },
    sessions: { type: "string", default: "200" },
    "large-room": { type: "string", default: "1000" },
    "clients-in-process": { type: "boolean", default: false },
  },
});
const machine = machineLine(); // before this bench adds its own load
// --count alone runs each phase to that count, still capped so that the run stays bounded.
const seconds = Number(values.seconds ?? (values.count ? 60 : 5));
const count = values.count ? Number(values.count) : Number.POSITIVE_INFINITY;
const rounds = Number(values.rounds);
const inFlight = Number(values["in-flight"]);
const users = Number(values.users);
const sessions = Number(values.sessions);
const largeRoom = Number(values["large-room"]);
if (
  !(seconds > 0 && count > 0 && rounds >= 1 && inFlight >= 1 && users >= inFlight && sessions >= 1 && largeRoom >= 0)
) {
  throw new Error(
    "need --seconds > 0, --count > 0, --rounds >= 1, --in-flight >= 1, --users >= --in-flight, --sessions >= 1 and --large-room >= 0",
  );
}

const deployment = await startBenchDeployment(users, { metrics: true });
await checkCalloutRouting(deployment);
const { nats, participants } = deployment;
const instances: PnmInstance[] = [];
/** CPU of every pnm instance: this process's, and the others'. */
const pnmCpuMs = () => {
  const others = instances.map((instance) => processCpuMs(instance.pid));
  return others.includes(undefined) ? undefined : others.reduce((sum: number, ms) => sum + ms!, ownCpuMs());
};
const metricsUrls = () => [deployment.server.metricsUrl!, ...instances.map((instance) => instance.metricsUrl)];
const load = startConnectLoad({ inProcess: values["clients-in-process"] });
const job = (authorized: boolean, jobInFlight: number, jobSeconds = seconds, jobCount = count): ConnectJob => ({
  wsUrl: nats.wsUrl,
  participants: authorized ? participants : undefined,
  inFlight: jobInFlight,
  seconds: jobSeconds,
  count: jobCount,
});

interface PhaseResult {
  rate: number;
  p50: number;
  p99: number;
  failures: number;
  /** CPU ms per connect: nats-server, this process (pnm), the clients, everything else on the machine. */
  cpu: (number | undefined)[];
  firstError?: string;
}

async function phase(authorized: boolean, phaseInFlight: number): Promise<PhaseResult> {
  const before = { nats: processCpuMs(nats.pid), own: pnmCpuMs(), machine: machineCpuMs() };
  const report = await load.run(job(authorized, phaseInFlight));
  const after = { nats: processCpuMs(nats.pid), own: pnmCpuMs(), machine: machineCpuMs() };
  const n = report.latenciesMs.length;
  const sorted = report.latenciesMs.sort((a, b) => a - b);
  const delta = (key: keyof typeof before) =>
    before[key] === undefined || after[key] === undefined ? undefined : after[key]! - before[key]!;
  const [natsCpu, ownCpu, machineCpu] = [delta("nats"), delta("own"), delta("machine")];
  const clientsCpu = values["clients-in-process"] ? 0 : report.cpuMs;
  const othersCpu =
    natsCpu === undefined || machineCpu === undefined || ownCpu === undefined
      ? undefined
      : Math.max(0, machineCpu - natsCpu - ownCpu! - clientsCpu);
  return {
    rate: (n * 1000) / report.elapsedMs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    failures: report.failures,
    cpu: [natsCpu, ownCpu, clientsCpu, othersCpu].map((ms) => (ms === undefined ? undefined : ms / n)),
    firstError: report.firstError,
  };
}

/** Warm-up: JIT, connection pools and KV buckets settle before anything counts. */
async function warmUp(): Promise<void> {
  await load.run(job(false, inFlight, 1, Number.POSITIVE_INFINITY));
  await load.run(job(true, inFlight, 1, Number.POSITIVE_INFINITY));
}

/** Until every seat of earlier connects is given up: a disconnected user's after offlineAfterMs. */
const settle = () => sleep(deployment.config.offlineAfterMs + 1_000);

/**
 * KV round trips, all instances together, per connect and disconnect of
 * `sessions` participants, `sessionsInFlight` at a time, through to the seat
 * given up once offline.
 */
async function kvOperationsPerSession(sessionsInFlight: number): Promise<{ perSession: number; failures: number }> {
  await settle();
  const before = await storeOperations(metricsUrls());
  const report = await load.run(job(true, sessionsInFlight, 60, sessions));
  await settle();
  const after = await storeOperations(metricsUrls());
  return { perSession: (after - before) / report.latenciesMs.length, failures: report.failures };
}

const modes = [
  { name: "sequential", inFlight: 1 },
  { name: `${inFlight} at once`, inFlight },
];
const rows = [
  [
    "instances / mode / connect",
    "connects/s",
    "p50 ms",
    "p99 ms",
    "failed",
    "cpu ms/connect: nats-server",
    "pnm",
    "clients",
    "others",
  ],
];
const lines: string[] = [];
const errors: string[] = [];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
/** The rounds' results as one: means of rates, percentiles and CPU; failures summed. */
function combine(rs: PhaseResult[]): PhaseResult {
  const cpu = rs[0].cpu.map((_, i) =>
    rs.some((r) => r.cpu[i] === undefined) ? undefined : mean(rs.map((r) => r.cpu[i]!)),
  );
  return {
    rate: mean(rs.map((r) => r.rate)),
    p50: mean(rs.map((r) => r.p50)),
    p99: mean(rs.map((r) => r.p99)),
    failures: rs.reduce((n, r) => n + r.failures, 0),
    cpu,
    firstError: rs.find((r) => r.firstError)?.firstError,
  };
}

for (const instanceCount of [1, 2]) {
  if (instanceCount > instances.length + 1)
    instances.push(await startPnmInstance(deployment.keys, deployment.config, nats.url));
  await warmUp();
  // The figures of one instance keep their names, to compare with earlier runs.
  const suffix = instanceCount === 1 ? "" : `, ${instanceCount} instances`;
  const results: { plain: PhaseResult; authorized: PhaseResult }[] = [];
  for (const mode of modes) {
    const runs = { plain: [] as PhaseResult[], authorized: [] as PhaseResult[] };
    // Alternate which kind goes first, so drift in the machine's load favours neither.
    for (let round = 0; round < rounds; round++) {
      for (const authorized of round % 2 === 0 ? [false, true] : [true, false])
        runs[authorized ? "authorized" : "plain"].push(await phase(authorized, mode.inFlight));
    }
    const plain = combine(runs.plain);
    const authorized = combine(runs.authorized);
    results.push({ plain, authorized });
    for (const [kind, r] of [
      ["plain", plain],
      ["authorized", authorized],
    ] as const) {
      rows.push([
        `${instanceCount} / ${mode.name} / ${kind}`,
        r.rate.toFixed(0),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        String(r.failures),
        ...r.cpu.map((ms) => ms?.toFixed(2) ?? "n/a"),
      ]);
      if (r.firstError) errors.push(`first failure, ${instanceCount} / ${mode.name} / ${kind}: ${r.firstError}`);
    }
    lines.push(
      ratioLine(
        `${mode.name} authorized vs plain connects/s${suffix}`,
        authorized.rate / plain.rate,
        mode.inFlight === 1 ? undefined : { atLeast: 0.55 },
      ),
    );
    lines.push(
      ratioLine(
        `${mode.name} authorized vs plain p50${suffix}`,
        authorized.p50 / plain.p50,
        mode.inFlight === 1 ? { atMost: 2.5 } : undefined,
      ),
    );
  }
  const concurrent = results[1];
  lines.push(
    ratioLine(
      `pnm cpu ms per authorized connect, ${inFlight} at once${suffix}`,
      concurrent.authorized.cpu[1] ?? Number.NaN,
      { atMost: 0.5 },
    ),
  );
  lines.push(
    ratioLine(`authorized connects/s, ${inFlight} at once${suffix}`, concurrent.authorized.rate, { atLeast: 1000 }, 0),
  );
  // Both ways: at once, changes to one key share a write (see the store's modify); one at a time, none do.
  for (const mode of [...modes].reverse()) {
    const kv = await kvOperationsPerSession(mode.inFlight);
    const name = mode.inFlight === 1 ? "" : `, ${mode.name}`;
    lines.push(ratioLine(`kv ops per connect+disconnect${name}${suffix}`, kv.perSession, { atMost: 4 }));
    if (kv.failures > 0)
      errors.push(`${kv.failures} of ${sessions} connects failed while counting KV operations, ${mode.name}${suffix}`);
  }
}

/** A room of `largeRoom` participants, each connected once: how large its keys grow. */
async function largeRoomKeys(): Promise<string[]> {
  const rooms = createRoomServiceClient({
    baseUrl: deployment.server.url,
    apiKey: deployment.config.apiKey,
    apiSecret: deployment.config.apiSecret,
  });
  const roomId = "bench-large";
  await rooms.createRoom({ roomId, metadata: { roomTitle: "large", roomFeatures: {} } });
  const crowd: Participant[] = [];
  for (let first = 0; first < largeRoom; first += 50) {
    const batch = Array.from({ length: Math.min(50, largeRoom - first) }, (_, i) => `member${first + i}`);
    const answers = await Promise.all(
      batch.map((userId) => rooms.getJoinToken({ roomId, userInfo: { name: userId, userId } })),
    );
    for (const [i, { token }] of answers.entries()) crowd.push({ roomId, userId: batch[i], token: token! });
  }
  const report = await load.run({ wsUrl: nats.wsUrl, participants: crowd, inFlight, seconds: 120, count: largeRoom });
  // Read while every seat is still held (a disconnected user keeps it for offlineAfterMs).
  const sizes = await roomKeySizes(deployment.nc, roomId);
  return [
    `room of ${largeRoom} participants (${report.failures} connects failed): ${sizes
      .map((size) => `${size.bucket} ${size.keys} keys, largest ${size.largestBytes} B`)
      .join("; ")}`,
    ratioLine(
      `largest per-room key with ${largeRoom} participants, bytes`,
      Math.max(...sizes.map((size) => size.largestBytes)),
      { atMost: 4096 },
      0,
    ),
  ];
}
if (largeRoom > 0) lines.push(...(await largeRoomKeys()));

const limit = Number.isFinite(count) ? `${count} connects or ${seconds} s` : `${seconds} s`;
const clients = values["clients-in-process"]
  ? "in the pnm process (its cpu column includes theirs)"
  : "in a child process";
console.log(machine);
console.log(
  `NATS WebSocket connects, loopback, ${users} users in one room, ${rounds} rounds x ${limit} per phase, clients ${clients}`,
);
console.log(formatTable(rows));
console.log([...lines, ...errors].join("\n"));

load.close();
await Promise.all(instances.map((instance) => instance.close()));
await deployment.close();
