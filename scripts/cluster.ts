// A local scale-out setup on loopback: a 3-node NATS cluster (keys and
// configurations as `pnm-server-keys --cluster 3` writes them, in a temporary
// folder, on that command's default ports) and two pnm instances sharing it.
// Ctrl-C or SIGTERM stops everything and removes the folder.
// Usage: npm run cluster   (bash scripts/dev.sh scripts/cluster.ts [--http-port 8081])
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type PnmProcess, startPnmProcess, startTestCluster, type TestCluster } from "../server/src/testing/index.js";

const { values } = parseArgs({ options: { "http-port": { type: "string", default: "8081" } } });
const httpPort = Number(values["http-port"]);
const instances: PnmProcess[] = [];
let cluster: TestCluster | undefined;
let stopping = false;

/** pnm instances first (they drain their NATS connections), then the NATS nodes; SIGKILL after 10 s. */
async function stop(code: number): Promise<never> {
  stopping = true;
  const running = instances.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  const timer = setTimeout(() => {
    for (const { child } of running) child.kill("SIGKILL");
  }, 10_000);
  await Promise.all(running.map((pnm) => pnm.kill("SIGTERM")));
  clearTimeout(timer);
  await cluster?.stop();
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));

const unexpected = (name: string, how: string | number | null) => {
  if (stopping) return;
  console.error(`cluster: ${name} exited (${how}); stopping everything`);
  void stop(1);
};

try {
  cluster = await startTestCluster({
    ports: { client: 4222, ws: 9222, http: 8222, cluster: 6222 },
    onUnexpectedExit: (node, code, signal) => unexpected(node.name, signal ?? code),
  });
} catch (err) {
  console.error(`cluster: ${(err as Error).message}`);
  process.exit(1);
}

const apiKey = "pnm-cluster";
const apiSecret = randomBytes(32).toString("hex");
for (const instance of [1, 2]) {
  // One after the other: the first creates the replicated buckets and streams.
  const pnm = await startPnmProcess({
    env: {
      ...process.env,
      ...cluster.env,
      PNM_HOST: "127.0.0.1",
      PNM_HTTP_PORT: String(httpPort + instance - 1),
      PNM_API_KEY: apiKey,
      PNM_API_SECRET: apiSecret,
      PNM_DATA_DIR: join(cluster.dir, `pnm-${instance}`),
    },
    echo: (chunk) => process.stdout.write(chunk),
  }).catch((err: unknown) => {
    console.error(`cluster: pnm-${instance} did not start: ${(err as Error).message}`);
    return stop(1);
  });
  instances.push(pnm);
  void pnm.exit.then(({ code, signal }) => unexpected(`pnm-${instance}`, signal ?? code));
}

console.log("");
console.log(
  `NATS cluster: ${cluster.env.PNM_NATS_URL} (WebSocket ${cluster.env.PNM_NATS_WS_URLS}; logs, keys and data in ${cluster.dir})`,
);
console.log(`pnm instances: ${instances.map((pnm) => pnm.url).join("  ")}`);
console.log(`API key ${apiKey}, secret ${apiSecret} (both instances)`);
console.log("Ctrl-C stops everything.");
