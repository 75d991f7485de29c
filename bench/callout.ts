/**
 * Authorized NATS connects (WebSocket, through pnm's auth callout) against
 * plain ones (WebSocket, no credentials, no callout) on the same nats-server in
 * one run, on loopback: one connect at a time, then `--in-flight` at once,
 * plain and authorized alternating in `--rounds` (which goes first
 * alternating too). Prints connects per second, p50 and p99 and the CPU each
 * process spent per connect (means over the rounds), then the ratio lines.
 * Usage: npm run bench:callout [-- --seconds 5 | --count N] [--rounds 2] [--in-flight 50] [--users 200] [--clients-in-process]
 */
import { parseArgs } from "node:util";
import { startBenchDeployment } from "./bench-deployment.js";
import { checkCalloutRouting } from "./callout-routing.js";
import type { ConnectJob } from "./connect-clients.js";
import { startConnectLoad } from "./connect-load.js";
import { machineCpuMs, ownCpuMs, processCpuMs } from "./process-cpu.js";
import { machineLine, ratioLine } from "./report.js";
import { formatTable, percentile } from "./stats.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string" },
    count: { type: "string" },
    rounds: { type: "string", default: "2" },
    "in-flight": { type: "string", default: "50" },
    users: { type: "string", default: "200" },
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
if (!(seconds > 0 && count > 0 && rounds >= 1 && inFlight >= 1 && users >= inFlight)) {
  throw new Error("need --seconds > 0, --count > 0, --rounds >= 1, --in-flight >= 1 and --users >= --in-flight");
}

const deployment = await startBenchDeployment(users);
await checkCalloutRouting(deployment);
const { nats, participants } = deployment;
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
  const before = { nats: processCpuMs(nats.pid), own: ownCpuMs(), machine: machineCpuMs() };
  const report = await load.run(job(authorized, phaseInFlight));
  const after = { nats: processCpuMs(nats.pid), own: ownCpuMs(), machine: machineCpuMs() };
  const n = report.latenciesMs.length;
  const sorted = report.latenciesMs.sort((a, b) => a - b);
  const delta = (key: keyof typeof before) =>
    before[key] === undefined || after[key] === undefined ? undefined : after[key]! - before[key]!;
  const [natsCpu, ownCpu, machineCpu] = [delta("nats"), delta("own"), delta("machine")];
  const clientsCpu = values["clients-in-process"] ? 0 : report.cpuMs;
  const othersCpu =
    natsCpu === undefined || machineCpu === undefined
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

// Warm-up: JIT, connection pools and KV buckets settle before anything counts.
await load.run(job(false, inFlight, 1, Number.POSITIVE_INFINITY));
await load.run(job(true, inFlight, 1, Number.POSITIVE_INFINITY));

const modes = [
  { name: "sequential", inFlight: 1 },
  { name: `${inFlight} at once`, inFlight },
];
const rows = [
  [
    "mode / connect",
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
      `${mode.name} / ${kind}`,
      r.rate.toFixed(0),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      String(r.failures),
      ...r.cpu.map((ms) => ms?.toFixed(2) ?? "n/a"),
    ]);
    if (r.firstError) errors.push(`first failure, ${mode.name} / ${kind}: ${r.firstError}`);
  }
  lines.push(ratioLine(`${mode.name} authorized vs plain connects/s`, authorized.rate / plain.rate));
  lines.push(
    ratioLine(
      `${mode.name} authorized vs plain p50`,
      authorized.p50 / plain.p50,
      mode.inFlight === 1 ? { atMost: 1.5 } : undefined,
    ),
  );
}
const concurrent = results[1];
lines.push(ratioLine(`authorized connects/s, ${inFlight} at once`, concurrent.authorized.rate, { atLeast: 1000 }, 0));

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
await deployment.close();
