import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { startPnmServer } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { consoleLogger } from "./logger.js";
import { spawnNatsServer, type EmbeddedNatsServer } from "./nats/embedded-nats.js";
import { loadOrCreateNatsKeys } from "./nats/nats-keys.js";
import { connectAsServer } from "./nats/server-connection.js";

async function main(): Promise<void> {
  const config = loadConfig();
  const keysFile = process.env.PNM_NATS_KEYS_FILE ?? join(config.dataDir, "nats-keys.json");
  const keys = await loadOrCreateNatsKeys(keysFile);
  let embedded: EmbeddedNatsServer | undefined;
  if (!config.natsUrl) {
    embedded = await spawnNatsServer({ keys, dataDir: join(config.dataDir, "nats") });
    consoleLogger.info(`embedded nats-server at ${embedded.url} (WebSocket ${embedded.wsUrl}), data in ${embedded.dataDir}`);
    if (config.natsWsUrls.length === 0) config.natsWsUrls = [embedded.wsUrl];
  }
  const natsUrl = config.natsUrl ?? embedded!.url;
  const nc: NatsConnection = await connectAsServer({ url: natsUrl, user: keys.serverUser });
  const systemNc: NatsConnection = await connectAsServer({ url: natsUrl, user: keys.systemUser, name: "pnm-server-system" });
  const server = await startPnmServer({ config, nc, systemNc, keys });
  if (config.devCredentialsFile) consoleLogger.info(`dev API credentials (generated) are in ${config.devCredentialsFile}`);
  consoleLogger.info(`NATS keys are in ${keysFile}`);
  consoleLogger.info(`pnm listening on ${server.url} (HTTP/1.1 and h2c: REST, Connect, gRPC-web, gRPC)`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await Promise.all([nc, systemNc].map((c) => c.drain().catch(() => c.close())));
    await embedded?.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
