import type { Logger } from "../logger.js";
import { type EmbeddedNatsServer, type SpawnNatsServerOptions, spawnNatsServer } from "./embedded-nats.js";

/** An embedded nats-server that is started again, on the same ports, whenever it exits unasked. */
export interface SupervisedNatsServer {
  /** nats://host:port, the same across restarts. */
  readonly url: string;
  /** ws://host:port, the same across restarts. */
  readonly wsUrl: string;
  readonly dataDir: string;
  /** The running process's pid (changes with each restart). */
  readonly pid: number;
  /** Stops supervising, then stops the server. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns nats-server (spawnNatsServer) and restarts it whenever it exits
 * without stop(): with the same configuration, data directory and ports
 * (the first start fixes the ports it picked), so clients reconnect to the
 * same URLs. A failed restart is retried, up to 5 s apart.
 */
export async function superviseNatsServer(
  options: SpawnNatsServerOptions & { logger: Logger },
): Promise<SupervisedNatsServer> {
  const { logger, ...spawnOptions } = options;
  let current: EmbeddedNatsServer = await spawnNatsServer(spawnOptions);
  const fixed: SpawnNatsServerOptions = {
    ...spawnOptions,
    serverName: current.serverName,
    dataDir: current.dataDir,
    port: Number(new URL(current.url).port),
    websocketPort: Number(new URL(current.wsUrl).port),
  };
  let stopping = false;
  let restarting: Promise<void> | undefined;

  const restart = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        const next = await spawnNatsServer(fixed);
        if (stopping) return void (await next.stop());
        current = next;
        logger.info(`embedded nats-server restarted (pid ${next.pid}) at ${next.url} (WebSocket ${next.wsUrl})`);
        follow(next);
        return;
      } catch (err) {
        const wait = Math.min(5_000, 100 * 2 ** attempt);
        logger.error(`embedded nats-server did not restart (attempt ${attempt}); trying again in ${wait} ms`, err);
        await delay(wait);
      }
    }
  };
  const follow = (server: EmbeddedNatsServer) =>
    void server.exited.then(() => {
      if (stopping) return;
      logger.error(`embedded nats-server (pid ${server.pid}) exited; restarting it on the same ports`);
      restarting = restart().finally(() => (restarting = undefined));
    });
  follow(current);

  return {
    url: current.url,
    wsUrl: current.wsUrl,
    dataDir: current.dataDir,
    get pid() {
      return current.pid;
    },
    async stop() {
      stopping = true;
      await restarting;
      await current.stop();
    },
  };
}
