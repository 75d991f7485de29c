// Scale-out on a real 3-node NATS cluster (README.md, "Running at scale"):
// replicated buckets and streams, two pnm instances sharing them, and both
// serving on after a node is killed.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { createParticipantClient } from "@pnm/client/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { loadNatsKeys } from "../../src/nats/nats-keys.js";
import { connectAsServer } from "../../src/nats/server-connection.js";
import { natsSubjects, roomStreamName } from "../../src/nats/subjects.js";
import { type PnmServer, startPnmServer } from "../../src/server.js";
import { signedClient } from "../support/clients.js";
import { localNatsServerBinary } from "../support/harness.js";
import { waitFor } from "../support/participants.js";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../../src/cli/keys.ts", import.meta.url));
const apiKey = "pnm-cluster-test";
const apiSecret = "cluster-test-secret-cluster-test-secret-0123";

/** A port where `count` consecutive ports are free on loopback. */
async function freeBase(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((done) => {
      const server = createServer();
      server.once("error", () => done(false));
      server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
    });
  for (;;) {
    // Below Linux's ephemeral range (32768 and up), so no other test's outgoing connection takes a port meanwhile.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
}

let dir: string;
let env: Record<string, string>;
let httpBase: number;
const nodes: ChildProcess[] = [];
const servers: PnmServer[] = [];
let admin: NatsConnection;

async function metaReady(port: number): Promise<boolean> {
  const body = await fetch(`http://127.0.0.1:${port}/jsz`).then(
    (res) => (res.ok ? res.json() : undefined),
    () => undefined,
  );
  const meta = (body as { meta_cluster?: { leader?: string; cluster_size?: number } } | undefined)?.meta_cluster;
  return Boolean(meta?.leader) && (meta?.cluster_size ?? 0) >= 3;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pnm-cluster-test-"));
  const [port, wsPort, clusterPort] = [await freeBase(3), await freeBase(3), await freeBase(3)];
  httpBase = await freeBase(3);
  await run(process.execPath, [
    "--import",
    "tsx",
    cli,
    ...["--out", dir, "--cluster", "3", "--port", String(port), "--ws-port", String(wsPort)],
    ...["--http-port", String(httpBase), "--cluster-port", String(clusterPort)],
  ]);
  env = Object.fromEntries(
    (await readFile(join(dir, "pnm.env"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  for (const node of [1, 2, 3]) {
    const conf = join(dir, `nats-server-${node}.conf`);
    nodes.push(spawn(localNatsServerBinary(), ["-c", conf, "-l", join(dir, `nats-${node}.log`)], { stdio: "ignore" }));
  }
  // Three nodes elect a meta leader in a few seconds; the margin is for a machine busy with the other test files.
  await waitFor(() => metaReady(httpBase), 60_000);
  const keys = await loadNatsKeys(env.PNM_NATS_KEYS_FILE!);
  admin = await connectAsServer({ url: env.PNM_NATS_URL!, user: keys.serverUser, name: "cluster-test-admin" });
  // A bucket from a single-replica deployment, to be raised to 3.
  const single = await new Kvm(admin).create("pnm-rooms", { history: 1, replicas: 1 });
  expect((await single.status()).replicas).toBe(1);
}, 90_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close().catch(() => {})));
  await admin?.close();
  for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
}, 20_000);

async function startInstance(): Promise<PnmServer> {
  const config = parseConfig({
    // PNM_NATS_REPLICAS left out: detected from the cluster.
    PNM_NATS_URL: env.PNM_NATS_URL,
    PNM_NATS_KEYS_FILE: env.PNM_NATS_KEYS_FILE,
    PNM_NATS_WS_URLS: env.PNM_NATS_WS_URLS,
    PNM_HTTP_PORT: "0",
    PNM_API_KEY: apiKey,
    PNM_API_SECRET: apiSecret,
    PNM_DATA_DIR: join(dir, `pnm-${servers.length + 1}`),
  });
  const server = await startPnmServer({ config, logger: silentLogger });
  servers.push(server);
  return server;
}

/** Creates a room on `a`, gets a join token for it on `b`, and has `a` verify it. */
async function roundTrip(a: PnmServer, b: PnmServer, roomId: string): Promise<void> {
  const created = await signedClient(a.url, apiKey, apiSecret, "connect").createRoom({
    roomId,
    metadata: { roomTitle: "Scale", roomFeatures: {} },
  });
  expect(created.status).toBe(true);
  const { token } = await signedClient(b.url, apiKey, apiSecret, "connect").getJoinToken({
    roomId,
    userInfo: { name: "Ada", userId: "ada" },
  });
  const verified = await createParticipantClient({ baseUrl: a.url, token: () => token! }).verifyToken({});
  expect(verified.status).toBe(true);
}

describe("scale-out on a 3-node NATS cluster", () => {
  it("replicates every bucket and stream 3 times, raising the one made with 1, and the instances share state", async () => {
    const [a, b] = [await startInstance(), await startInstance()];
    const jsm = await jetstreamManager(admin);
    const names = ["rooms", "users", "blocklist", "seats", "nonces"].map((bucket) => `KV_pnm-${bucket}`);
    for (const name of [...names, roomStreamName, natsSubjects.systemJsWorker]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      expect(info.cluster?.replicas?.length, name).toBe(2);
    }
    await roundTrip(a, b, "cluster-room-1");
    await roundTrip(b, a, "cluster-room-2");
  }, 40_000);

  it("keeps both instances serving when a NATS node is killed", async () => {
    const [a, b] = servers as [PnmServer, PnmServer];
    // The rooms bucket's leader (server names pnm-1..3): its replicas must elect another.
    const leader = (await (await jetstreamManager(admin)).streams.info("KV_pnm-rooms")).cluster?.leader;
    expect(leader).toMatch(/^pnm-[123]$/);
    const killed = nodes[Number(leader!.slice(4)) - 1]!;
    killed.kill("SIGKILL");
    await new Promise((done) => killed.once("exit", done));
    const started = Date.now();
    let attempt = 0;
    await waitFor(async () => {
      attempt++;
      try {
        await roundTrip(a, b, `after-kill-a-${attempt}`);
        await roundTrip(b, a, `after-kill-b-${attempt}`);
        return true;
      } catch {
        await new Promise((done) => setTimeout(done, 250));
        return false;
      }
    }, 25_000);
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 40_000);
});
