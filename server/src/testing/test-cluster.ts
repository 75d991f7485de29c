import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { writeNatsDeploymentFiles } from "../nats/deployment-files.js";
import type { NatsKeys } from "../nats/nats-keys.js";
import { connectAsServer } from "../nats/server-connection.js";
import { localNatsServerBinary } from "./test-nats.js";

/** Base ports of a local cluster: node i (0-based) listens on each + i. */
export interface TestClusterPorts {
  /** Client port of node 1. */
  client: number;
  /** WebSocket port of node 1. */
  ws: number;
  /** Monitoring port of node 1. */
  http: number;
  /** Route port of node 1. */
  cluster: number;
}

/** What a test, benchmark or script may choose about its local cluster. */
export interface TestClusterOptions {
  /** Nodes, 3 to 5; default 3. */
  nodes?: number;
  /** Base ports; default free ones below Linux's ephemeral range, so no outgoing connection takes one meanwhile. */
  ports?: TestClusterPorts;
  /** Folder for keys, configurations, logs and JetStream data; default a new temporary one, removed by `stop`. */
  dir?: string;
  /** How long the nodes have to elect a JetStream meta leader; default 60 s (a few seconds on an idle machine). */
  readyTimeoutMs?: number;
  /** Called when a node's process exits other than through `kill` or `stop`. */
  onUnexpectedExit?: (node: TestClusterNode, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** One nats-server of the cluster. */
export interface TestClusterNode {
  /** Its server name, `pnm-1` … */
  readonly name: string;
  /** Its client URL. */
  readonly url: string;
  /** Its WebSocket URL, for participants. */
  readonly wsUrl: string;
  /** Its monitoring endpoint (`/jsz`, `/connz`). */
  readonly monitorUrl: string;
  /** The process's id, while it runs. */
  pid(): number | undefined;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again with its configuration and data, after `kill`. */
  restart(): void;
}

/** A local NATS cluster with JetStream on loopback, with fresh keys. */
export interface TestCluster {
  /** Its keys, configurations, logs and JetStream data. */
  readonly dir: string;
  /** The keys every node is configured with. */
  readonly keys: NatsKeys;
  /** The pnm settings for this cluster (PNM_NATS_URL, PNM_NATS_KEYS_FILE, PNM_NATS_WS_URLS, PNM_NATS_REPLICAS). */
  readonly env: Readonly<Record<string, string>>;
  /** The nodes, `pnm-1` first. */
  readonly nodes: readonly TestClusterNode[];
  /** A connection with the pnm server's identity, closed by `stop`. */
  connect(name?: string): Promise<NatsConnection>;
  /** Closes the connections, kills every node and removes a folder it made. */
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** A port where `count` consecutive ports are free on loopback, between 20000 and 32000. */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portIsFree(base + i);
    if (ok) return base;
  }
}

/** What `monitorUrl`'s node knows of the JetStream meta group: its leader and size. */
async function metaGroup(monitorUrl: string): Promise<{ leader?: string; cluster_size?: number } | undefined> {
  const body = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) }).then(
    (res) => (res.ok ? res.json() : undefined),
    () => undefined,
  );
  return (body as { meta_cluster?: { leader?: string; cluster_size?: number } } | undefined)?.meta_cluster;
}

/** After this long without a full meta group, nodes that know no meta leader are restarted. */
const restartLaggingAfterMs = 10_000;

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((done) => child.once("exit", () => done()));

/**
 * Starts a NATS cluster of `nodes` nats-servers on loopback, configured as
 * `pnm-server-keys --cluster N` configures one, and waits until JetStream
 * has a meta leader, so that replicated buckets can be made at once.
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const count = options.nodes ?? 3;
  const binary = localNatsServerBinary(); // before anything is written: throws when there is none
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "pnm-cluster-")));
  // One range for all four kinds, so that no two of them overlap.
  const base = options.ports ? 0 : await freePortRange(4 * count);
  const ports = options.ports ?? { client: base, ws: base + count, http: base + 2 * count, cluster: base + 3 * count };
  const files = await writeNatsDeploymentFiles({
    outDir: dir,
    nodes: count,
    host: "127.0.0.1",
    port: ports.client,
    wsPort: ports.ws,
    httpPort: ports.http,
    clusterPort: ports.cluster,
  });
  let stopping = false;
  /** Why the cluster cannot start: a node that exited on its own. */
  let failed: string | undefined;
  const nodes = files.configPaths.map((configPath, i): TestClusterNode => {
    let child: ChildProcess | undefined;
    let killing = false;
    const node: TestClusterNode = {
      name: `pnm-${i + 1}`,
      url: `nats://127.0.0.1:${ports.client + i}`,
      wsUrl: `ws://127.0.0.1:${ports.ws + i}`,
      monitorUrl: `http://127.0.0.1:${ports.http + i}`,
      pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
      async kill(signal = "SIGKILL") {
        if (!child) return;
        killing = true;
        child.kill(signal);
        await exited(child);
      },
      restart() {
        killing = false;
        const started = spawn(binary, ["-c", configPath, "-l", join(dir, `nats-${i + 1}.log`)], {
          stdio: "ignore",
        });
        started.once("exit", (code, signal) => {
          if (stopping || killing) return;
          failed ??= `${node.name} exited (${signal ?? code}); its log: ${join(dir, `nats-${i + 1}.log`)}`;
          options.onUnexpectedExit?.(node, code, signal);
        });
        child = started;
      },
    };
    return node;
  });
  const connections: NatsConnection[] = [];
  const stop = async () => {
    stopping = true;
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(nodes.map((node) => node.kill("SIGKILL")));
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  };
  for (const node of nodes) node.restart();
  const startedAt = Date.now();
  const deadline = startedAt + (options.readyTimeoutMs ?? 60_000);
  let nextRestart = startedAt + restartLaggingAfterMs;
  for (;;) {
    const groups = await Promise.all(nodes.map((node) => metaGroup(node.monitorUrl)));
    if (groups.every((group) => group?.leader && (group.cluster_size ?? 0) >= count)) break;
    // Nodes started together sometimes leave one out of the meta group (nats-server 2.10 closes its routes as
    // duplicates, and it never hears from the leader); a restart lets it join.
    if (Date.now() > nextRestart) {
      nextRestart = Date.now() + restartLaggingAfterMs;
      for (const [i, node] of nodes.entries()) {
        if (groups[i]?.leader) continue;
        await node.kill("SIGKILL");
        node.restart();
      }
    }
    if (failed !== undefined || Date.now() > deadline) {
      const log = await readFile(join(dir, "nats-1.log"), "utf8").catch(() => "");
      await stop();
      const why = failed ?? `no JetStream meta leader within ${options.readyTimeoutMs ?? 60_000} ms`;
      throw new Error(
        `the NATS cluster did not start: ${why}; node 1 logged:\n${log.split("\n").slice(-15).join("\n")}`,
      );
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  return {
    dir,
    keys: files.keys,
    env: files.env,
    nodes,
    async connect(name = "pnm-test-cluster") {
      const nc = await connectAsServer({ url: files.env.PNM_NATS_URL!, user: files.keys.serverUser, name });
      connections.push(nc);
      return nc;
    },
    stop,
  };
}
