// A local scale-out setup on loopback: a 3-node NATS cluster (keys and
// configurations written by the keys CLI into a temporary folder) and two pnm
// instances sharing it. Ctrl-C or SIGTERM stops everything and removes the folder.
// Usage: npm run cluster   (bash scripts/dev.sh scripts/cluster.ts [--http-port 8081])
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const { values } = parseArgs({ options: { "http-port": { type: "string", default: "8081" } } });
const httpPort = Number(values["http-port"]);
const natsServer = process.env.PNM_NATS_SERVER_BIN || "nats-server";
const tsx = ["--conditions=pnm-source", "--import", "tsx"];
const dir = mkdtempSync(join(tmpdir(), "pnm-cluster-"));
const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  children.push({ name, child });
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`cluster: ${name} exited (${signal ?? code}); stopping everything`);
    void stop(1);
  });
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((done) => child.once("exit", () => done()));

/** pnm instances first (they drain their NATS connections), then the NATS nodes; SIGKILL after 10 s. */
async function stop(code: number): Promise<never> {
  stopping = true;
  for (const group of [children.filter((c) => c.name.startsWith("pnm")), children]) {
    const running = group.map((c) => c.child).filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const child of running) child.kill("SIGKILL");
    }, 10_000);
    await Promise.all(running.map(exited));
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));

async function waitHealthy(url: string, timeoutMs: number, ready?: (body: unknown) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    const ok = await fetch(url).then(
      async (res) => res.ok && (!ready || ready(await res.json())),
      () => false,
    );
    if (ok) return;
    await new Promise((done) => setTimeout(done, 250));
  }
  console.error(`cluster: ${url} did not answer within ${timeoutMs / 1000} s`);
  await stop(1);
}

execFileSync(process.execPath, [...tsx, "server/src/cli/keys.ts", "--out", dir, "--cluster", "3"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
});
const pnmEnv = Object.fromEntries(
  readFileSync(join(dir, "pnm.env"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
);
for (const node of [1, 2, 3]) {
  start(`nats-${node}`, natsServer, ["-c", join(dir, `nats-server-${node}.conf`), "-l", join(dir, `nats-${node}.log`)]);
}
// Replicated buckets need the JetStream meta group: a leader that knows all three nodes.
await waitHealthy("http://127.0.0.1:8222/jsz", 30_000, (body) => {
  const meta = (body as { meta_cluster?: { leader?: string; cluster_size?: number; replicas?: unknown[] } })
    .meta_cluster;
  return Boolean(meta?.leader) && (meta?.cluster_size ?? 0) >= 3;
});
if (stopping) await new Promise(() => {});

const apiKey = "pnm-cluster";
const apiSecret = randomBytes(32).toString("base64url");
const urls: string[] = [];
for (const instance of [1, 2]) {
  const port = httpPort + instance - 1;
  urls.push(`http://127.0.0.1:${port}`);
  start(`pnm-${instance}`, process.execPath, [...tsx, "server/src/cli/pnm-server.ts"], {
    ...process.env,
    ...pnmEnv,
    PNM_HOST: "127.0.0.1",
    PNM_HTTP_PORT: String(port),
    PNM_API_KEY: apiKey,
    PNM_API_SECRET: apiSecret,
    PNM_DATA_DIR: join(dir, `pnm-${instance}`),
  });
  // One after the other: the first creates the replicated buckets and streams.
  await waitHealthy(`http://127.0.0.1:${port}/healthz`, 60_000);
}
if (stopping) await new Promise(() => {});

console.log("");
console.log(
  `NATS cluster: ${pnmEnv.PNM_NATS_URL} (WebSocket ${pnmEnv.PNM_NATS_WS_URLS}; logs, keys and data in ${dir})`,
);
console.log(`pnm instances: ${urls.join("  ")}`);
console.log(`API key ${apiKey}, secret ${apiSecret} (both instances)`);
console.log("Ctrl-C stops everything.");
