import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import type { RoomServiceClient } from "@pnm/client";
import { afterAll, beforeAll } from "vitest";
import { startPnmServer, type PnmServer } from "../../src/app.js";
import type { PnmConfig } from "../../src/config.js";
import { type Logger, silentLogger } from "../../src/logger.js";
import { spawnNatsServer, type EmbeddedNatsServer } from "../../src/nats/embedded-nats.js";
import { createNatsKeys, type NatsKeys } from "../../src/nats/nats-keys.js";
import { connectAsServer } from "../../src/nats/server-connection.js";
import { signedClient } from "./clients.js";

export interface TestNats {
  server: EmbeddedNatsServer;
  keys: NatsKeys;
  /** A connection with the pnm server's identity. */
  connect(): Promise<NatsConnection>;
  /** A connection as the system user (events, kicks). */
  connectSystem(): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startTestNats(): Promise<TestNats> {
  const keys = createNatsKeys();
  const server = await spawnNatsServer({ keys });
  const connections: NatsConnection[] = [];
  return {
    server,
    keys,
    async connect() {
      const nc = await connectAsServer({ url: server.url, user: keys.serverUser, name: "pnm-test" });
      connections.push(nc);
      return nc;
    },
    async connectSystem() {
      const nc = await connectAsServer({ url: server.url, user: keys.systemUser, name: "pnm-test-system" });
      connections.push(nc);
      return nc;
    },
    async stop() {
      await Promise.all(connections.map((nc) => nc.close()));
      await server.stop();
    },
  };
}

export function testConfig(nats: TestNats, overrides: Partial<PnmConfig> = {}): PnmConfig {
  return {
    host: "127.0.0.1",
    httpPort: 0,
    apiKey: "pnm-test-key",
    apiSecret: randomBytes(32).toString("base64url"),
    natsUrl: nats.server.url,
    natsWsUrls: [nats.server.wsUrl],
    corsOrigins: [],
    tokenValidityMs: 600_000,
    dataDir: mkdtempSync(join(tmpdir(), "pnm-test-")),
    maxBodyBytes: 64 * 1024,
    offlineAfterMs: 300,
    renewalGraceMs: 30_000,
    ...overrides,
  };
}

export interface TestServer {
  server: PnmServer;
  config: PnmConfig;
  nc: NatsConnection;
  close(): Promise<void>;
}

export async function startTestServer(nats: TestNats, config: PnmConfig = testConfig(nats), logger: Logger = silentLogger): Promise<TestServer> {
  const nc = await nats.connect();
  const systemNc = await nats.connectSystem();
  const server = await startPnmServer({ config, nc, systemNc, keys: nats.keys, logger });
  return { server, config, nc, close: () => server.close() };
}

export interface TestDeployment {
  readonly nats: TestNats;
  readonly pnm: TestServer;
  /** A signed RoomService client over Connect. */
  readonly rooms: RoomServiceClient;
}

/**
 * One nats-server and one pnm server for the calling test file: started in
 * its beforeAll, stopped in its afterAll.
 */
export function useTestDeployment(configure: (nats: TestNats) => PnmConfig = (nats) => testConfig(nats)): TestDeployment {
  let deployment: { nats: TestNats; pnm: TestServer; rooms: RoomServiceClient } | undefined;
  beforeAll(async () => {
    const nats = await startTestNats();
    const pnm = await startTestServer(nats, configure(nats));
    deployment = { nats, pnm, rooms: signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect") };
  });
  afterAll(async () => {
    await deployment?.pnm.close();
    await deployment?.nats.stop();
  });
  const started = () => {
    if (!deployment) throw new Error("the test deployment is used before beforeAll ran");
    return deployment;
  };
  return {
    get nats() {
      return started().nats;
    },
    get pnm() {
      return started().pnm;
    },
    get rooms() {
      return started().rooms;
    },
  };
}
