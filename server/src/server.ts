import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { startPnmApp } from "./app.js";
import { loadConfig, type PnmConfig } from "./config.js";
import { consoleLogger, type Logger } from "./logger.js";
import { spawnNatsServer, type EmbeddedNatsServer } from "./nats/embedded-nats.js";
import { loadOrCreateNatsKeys } from "./nats/nats-keys.js";
import { connectAsServer, type ServerConnectionOptions } from "./nats/server-connection.js";

/** How `startPnmServer` starts pnm; every option has the `pnm-server` command's default. */
export interface PnmServerOptions {
  /** Default: read from the environment (`loadConfig()`), as `pnm-server` does. */
  config?: PnmConfig;
  /** Default: `consoleLogger`. */
  logger?: Logger;
}

/** A running pnm server. */
export interface PnmServer {
  /** `http://host:port`: HTTP/1.1 and cleartext HTTP/2 on one port (REST, Connect, gRPC-web, gRPC). */
  readonly url: string;
  readonly port: number;
  /** Stops serving, drains the NATS connections and stops the embedded nats-server, if there is one. */
  close(): Promise<void>;
}

/**
 * Starts pnm as the `pnm-server` command does: the configuration, the NATS
 * keys (created when the keys file is missing), a nats-server of its own
 * unless `config.natsUrl` names one, the server's NATS connections, and the
 * HTTP listener. A failed start stops whatever it had started.
 */
export async function startPnmServer(options: PnmServerOptions = {}): Promise<PnmServer> {
  const logger = options.logger ?? consoleLogger;
  let config = options.config ?? loadConfig();
  const keysFile = config.natsKeysFile ?? join(config.dataDir, "nats-keys.json");
  const keys = await loadOrCreateNatsKeys(keysFile);
  let embedded: EmbeddedNatsServer | undefined;
  if (!config.natsUrl) {
    embedded = await spawnNatsServer({ keys, dataDir: join(config.dataDir, "nats") });
    logger.info(`embedded nats-server at ${embedded.url} (WebSocket ${embedded.wsUrl}), data in ${embedded.dataDir}`);
    if (config.natsWsUrls.length === 0) config = { ...config, natsWsUrls: [embedded.wsUrl] };
  }
  const natsUrl = config.natsUrl ?? embedded!.url;
  const connections: NatsConnection[] = [];
  const stopNats = async () => {
    await Promise.all(connections.map((c) => c.drain().catch(() => c.close())));
    await embedded?.stop();
  };
  const connect = async (options: Omit<ServerConnectionOptions, "url">) => {
    const connection = await connectAsServer({ url: natsUrl, ...options });
    connections.push(connection);
    return connection;
  };
  try {
    const nc = await connect({ user: keys.serverUser });
    const systemNc = await connect({ user: keys.systemUser, name: "pnm-server-system" });
    const app = await startPnmApp({ config, nc, systemNc, keys, logger });
    if (config.devCredentialsFile) logger.info(`dev API credentials (generated) are in ${config.devCredentialsFile}`);
    logger.info(`NATS keys are in ${keysFile}`);
    logger.info(`pnm listening on ${app.url} (HTTP/1.1 and h2c: REST, Connect, gRPC-web, gRPC)`);
    let closing: Promise<void> | undefined;
    return {
      url: app.url,
      port: app.port,
      close: () =>
        (closing ??= (async () => {
          await app.close();
          await stopNats();
        })()),
    };
  } catch (error) {
    await stopNats();
    throw error;
  }
}
