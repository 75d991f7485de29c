import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { type PnmApp, startPnmApp } from "../app.js";
import type { PnmConfig } from "../config.js";
import { type Logger, silentLogger } from "../logger.js";
import type { TestNats } from "./test-nats.js";

/** A configuration for `nats`: a free port on loopback, fresh credentials and data directory, short offline delay. */
export function testConfig(nats: TestNats, overrides: Partial<PnmConfig> = {}): PnmConfig {
  const dataDir = mkdtempSync(join(tmpdir(), "pnm-test-"));
  return {
    host: "127.0.0.1",
    httpPort: 0,
    apiKey: "pnm-test-key",
    apiSecret: randomBytes(32).toString("hex"),
    natsUrl: nats.server.url,
    natsWsUrls: [nats.server.wsUrl],
    corsOrigins: [],
    tokenValidityMs: 600_000,
    dataDir,
    natsKeysFile: join(dataDir, "nats-keys.json"),
    maxBodyBytes: 64 * 1024,
    offlineAfterMs: 300,
    renewalGraceMs: 30_000,
    ...overrides,
  };
}

/** A pnm app on a test nats-server. */
export interface TestServer {
  /** The running app; `server.url` is where to call it. */
  server: PnmApp;
  /** The configuration it runs with, credentials included. */
  config: PnmConfig;
  /** The app's own NATS connection, which `nats` closes on stop. */
  nc: NatsConnection;
  /** Stops the app; the test nats-server keeps running. */
  close(): Promise<void>;
}

/** Starts pnm's app on `nats`, with connections `nats` hands out (it closes them on stop). */
export async function startTestServer(
  nats: TestNats,
  config: PnmConfig = testConfig(nats),
  logger: Logger = silentLogger,
): Promise<TestServer> {
  const nc = await nats.connect();
  const systemNc = await nats.connectSystem();
  const server = await startPnmApp({ config, nc, systemNc, keys: nats.keys, logger });
  return { server, config, nc, close: () => server.close() };
}
