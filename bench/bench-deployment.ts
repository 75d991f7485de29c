import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { createRoomServiceClient } from "@pnm/client";
import { type PnmApp, startPnmApp } from "../server/src/app.js";
import { type PnmConfig, parseConfig } from "../server/src/config.js";
import { silentLogger } from "../server/src/logger.js";
import { type EmbeddedNatsServer, spawnNatsServer } from "../server/src/nats/embedded-nats.js";
import { createNatsKeys, type NatsKeys } from "../server/src/nats/nats-keys.js";
import { connectAsServer, systemInboxPrefix } from "../server/src/nats/server-connection.js";
import { localNatsServerBinary } from "../server/src/testing/index.js";
import { withAnonymousUser } from "./anonymous-nats-user.js";
import type { Participant } from "./connect-clients.js";

export interface BenchDeployment {
  nats: EmbeddedNatsServer;
  keys: NatsKeys;
  config: PnmConfig;
  /** The pnm server's and the system user's connections. */
  nc: NatsConnection;
  systemNc: NatsConnection;
  server: PnmApp;
  /** Stops the pnm server (HTTP, callout, presence); once, however often it is called. */
  closeServer(): Promise<void>;
  /** One room without a participant limit, and a join token for each of its users. */
  participants: Participant[];
  close(): Promise<void>;
}

export interface BenchDeploymentOptions {
  /** Serve pnm's `/metrics` on a free port (`server.metricsUrl`), for benches that count what pnm does. */
  metrics?: boolean;
}

/**
 * A fresh nats-server (with the benchmark's anonymous user, so plain connects
 * skip the callout) and a pnm server in this process, as in
 * server/src/testing, with the room and its tokens made up front:
 * issuing tokens is not what the benchmarks measure.
 */
export async function startBenchDeployment(
  users: number,
  options: BenchDeploymentOptions = {},
): Promise<BenchDeployment> {
  const keys = createNatsKeys();
  const nats = await spawnNatsServer({
    binary: localNatsServerBinary(),
    keys,
    editConfig: withAnonymousUser("bench-anonymous"),
  });
  const nc = await connectAsServer({ url: nats.url, user: keys.serverUser, name: "pnm-bench" });
  const systemNc = await connectAsServer({
    url: nats.url,
    user: keys.systemUser,
    name: "pnm-bench-system",
    inboxPrefix: systemInboxPrefix,
  });
  const apiKey = "bench";
  const apiSecret = randomBytes(32).toString("base64url");
  // parseConfig gives every other setting its production default (offline after 5 s, and so on).
  const config: PnmConfig = {
    ...parseConfig({
      PNM_API_KEY: apiKey,
      PNM_API_SECRET: apiSecret,
      PNM_DATA_DIR: join(tmpdir(), "pnm-bench-unused"),
    }),
    apiKey,
    apiSecret,
    httpPort: 0,
    natsUrl: nats.url,
    natsWsUrls: [nats.wsUrl],
    // Every simulated participant comes from 127.0.0.1: the per-client cap would refuse a crowd from one address.
    maxConnectionsPerClient: 0,
    ...(options.metrics ? { metricsPort: 0 } : {}),
  };
  const server = await startPnmApp({ config, nc, systemNc, keys, logger: silentLogger });

  const rooms = createRoomServiceClient({ baseUrl: server.url, apiKey, apiSecret });
  const roomId = "bench";
  await rooms.createRoom({ roomId, metadata: { roomTitle: "bench", roomFeatures: {} } });
  const participants: Participant[] = [];
  for (let first = 0; first < users; first += 50) {
    const batch = Array.from({ length: Math.min(50, users - first) }, (_, i) => `user${first + i}`);
    const answers = await Promise.all(
      batch.map((userId) => rooms.getJoinToken({ roomId, userInfo: { name: userId, userId } })),
    );
    for (const [i, { token }] of answers.entries()) participants.push({ roomId, userId: batch[i], token: token! });
  }

  let serverClosed: Promise<void> | undefined;
  const closeServer = () => (serverClosed ??= server.close());
  return {
    nats,
    keys,
    config,
    nc,
    systemNc,
    server,
    participants,
    closeServer,
    async close() {
      await closeServer();
      await Promise.all([nc.close(), systemNc.close()]);
      await nats.stop();
    },
  };
}
