import type { NatsConnection } from "@nats-io/nats-core";
import { spawnNatsServer, type EmbeddedNatsServer } from "../nats/embedded-nats.js";
import { createNatsKeys, type NatsKeys } from "../nats/nats-keys.js";
import { connectAsServer } from "../nats/server-connection.js";

/** A nats-server of its own, with fresh keys, for one test file. */
export interface TestNats {
  server: EmbeddedNatsServer;
  keys: NatsKeys;
  /** A connection with the pnm server's identity. */
  connect(): Promise<NatsConnection>;
  /** A connection as the system user (events, kicks). */
  connectSystem(): Promise<NatsConnection>;
  /** Closes the connections it handed out, then stops the server. */
  stop(): Promise<void>;
}

/** Starts a nats-server with pnm's configuration and fresh keys, in a temporary directory. */
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
