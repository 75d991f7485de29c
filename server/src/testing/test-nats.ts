import type { NatsConnection } from "@nats-io/nats-core";
import { type EmbeddedNatsServer, resolveNatsServerBinary, spawnNatsServer } from "../nats/embedded-nats.js";
import type { NatsAccountLimits } from "../nats/nats-config.js";
import { createNatsKeys, type NatsKeys } from "../nats/nats-keys.js";
import { connectAsServer, systemInboxPrefix } from "../nats/server-connection.js";

/** A nats-server of its own, with fresh keys, for one test file. */
export interface TestNats {
  /** The nats-server process: its client and WebSocket URLs. */
  server: EmbeddedNatsServer;
  /** The keys it was configured with: callout issuer and xkey, the server and system users. */
  keys: NatsKeys;
  /** A connection with the pnm server's identity. */
  connect(): Promise<NatsConnection>;
  /** A connection as the system user (events, kicks). */
  connectSystem(): Promise<NatsConnection>;
  /** Closes the connections it handed out, then stops the server. */
  stop(): Promise<void>;
}

/**
 * The nats-server this checkout's tests and benchmarks run: the one in
 * PNM_NATS_SERVER_BIN, which scripts/bootstrap.sh and the test setup
 * (scripts/test-global-setup.ts) resolve once and hand to every process
 * they start, else the first on PATH.
 */
export function localNatsServerBinary(): string {
  return resolveNatsServerBinary(process.env.PNM_NATS_SERVER_BIN);
}

/** What a test may change in the nats-server's configuration. */
export interface TestNatsOptions {
  /** Per-connection limits in PNM (PNM_NATS_MAX_SUBSCRIPTIONS, PNM_NATS_MAX_PAYLOAD); default pnm's. */
  accountLimits?: NatsAccountLimits;
}

/** Starts a nats-server with pnm's configuration and fresh keys, in a temporary directory. */
export async function startTestNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const keys = createNatsKeys();
  const server = await spawnNatsServer({ binary: localNatsServerBinary(), keys, accountLimits: options.accountLimits });
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
      const nc = await connectAsServer({
        url: server.url,
        user: keys.systemUser,
        name: "pnm-test-system",
        inboxPrefix: systemInboxPrefix,
      });
      connections.push(nc);
      return nc;
    },
    async stop() {
      await Promise.all(connections.map((nc) => nc.close()));
      await server.stop();
    },
  };
}
