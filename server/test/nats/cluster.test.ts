// Scale-out on a real 3-node NATS cluster (README.md, "Running at scale"):
// replicated buckets and streams, two pnm instances sharing them, and both
// serving on after a node is killed.
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { createParticipantClient } from "@pnm/client/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { natsSubjects, roomStreamName } from "../../src/nats/subjects.js";
import { type PnmServer, startPnmServer } from "../../src/server.js";
import { startTestCluster, type TestCluster } from "../../src/testing/index.js";
import { signedClient } from "../support/clients.js";
import { waitFor } from "../support/participants.js";

const apiKey = "pnm-cluster-test";
const apiSecret = "cluster-test-secret-cluster-test-secret-0123";

let cluster: TestCluster;
let env: Readonly<Record<string, string>>;
const servers: PnmServer[] = [];
let admin: NatsConnection;

beforeAll(async () => {
  cluster = await startTestCluster();
  env = cluster.env;
  admin = await cluster.connect("cluster-test-admin");
  // A bucket from a single-replica deployment, to be raised to 3.
  const single = await new Kvm(admin).create("pnm-rooms", { history: 1, replicas: 1 });
  expect((await single.status()).replicas).toBe(1);
}, 90_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close().catch(() => {})));
  await cluster?.stop();
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
    PNM_DATA_DIR: join(cluster.dir, `pnm-${servers.length + 1}`),
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
    const names = ["rooms", "users", "blocklist", "seats", "room-seats", "nonces"].map((bucket) => `KV_pnm-${bucket}`);
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
    await cluster.nodes.find((node) => node.name === leader)!.kill("SIGKILL");
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
