import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { type PnmProcess, startPnmProcess, startTestCluster, type TestCluster } from "../server/src/testing/index.js";

/** A scaled-out deployment on loopback, as `npm run cluster` starts one. */
export interface ClusterDeployment {
  cluster: TestCluster;
  /** The pnm-server processes, in order. */
  instances: PnmProcess[];
  /** Each instance's base URL, in order. */
  baseUrls: string[];
  apiKey: string;
  apiSecret: string;
  /** A connection with the pnm server's identity (for reading KV). */
  nc: NatsConnection;
  /** The nats-server and pnm-server processes' ids, for CPU accounting. */
  pids(): { nats: number[]; pnm: number[] };
  close(): Promise<void>;
}

/**
 * A 3-node NATS cluster (JetStream, replicas 3) and `instances` pnm-server
 * processes on it, with their production defaults. Instance i hands
 * participants the nodes' WebSocket URLs starting from node i, so that
 * participants spread over the nodes as they spread over the instances.
 */
export async function startClusterDeployment(instances = 2): Promise<ClusterDeployment> {
  const cluster = await startTestCluster();
  const apiKey = "bench";
  const apiSecret = randomBytes(32).toString("base64url");
  const wsUrls = cluster.nodes.map((node) => node.wsUrl);
  const started: PnmProcess[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      // One after the other: the first creates the replicated buckets and streams.
      const rotated = [...wsUrls.slice(i % wsUrls.length), ...wsUrls.slice(0, i % wsUrls.length)];
      started.push(
        await startPnmProcess({
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            ...cluster.env,
            PNM_NATS_WS_URLS: rotated.join(","),
            PNM_HOST: "127.0.0.1",
            PNM_HTTP_PORT: "0",
            PNM_API_KEY: apiKey,
            PNM_API_SECRET: apiSecret,
            PNM_DATA_DIR: join(cluster.dir, `pnm-${i + 1}`),
            // Every simulated participant comes from 127.0.0.1: the per-client cap would refuse a crowd from one address.
            PNM_MAX_CONNECTIONS_PER_CLIENT: "0",
          },
        }),
      );
    }
  } catch (err) {
    await Promise.all(started.map((pnm) => pnm.kill("SIGKILL")));
    await cluster.stop();
    throw err;
  }
  const nc = await cluster.connect("pnm-bench");
  return {
    cluster,
    instances: started,
    baseUrls: started.map((pnm) => pnm.url),
    apiKey,
    apiSecret,
    nc,
    pids: () => ({
      nats: cluster.nodes.map((node) => node.pid()).filter((pid) => pid !== undefined),
      pnm: started.map((pnm) => pnm.child.pid).filter((pid) => pid !== undefined),
    }),
    async close() {
      await Promise.all(started.map((pnm) => pnm.kill("SIGTERM")));
      await cluster.stop();
    },
  };
}
