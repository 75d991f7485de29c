import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { renderNatsServerConfig } from "./nats-config.js";
import { createNatsKeys, type NatsKeys, saveNatsKeys } from "./nats-keys.js";

/** Where the nodes of a NATS deployment listen: node i (0-based) on each base port + i. */
export interface NatsDeploymentFilesOptions {
  /** Folder to write into. */
  outDir: string;
  /** Nodes, 1 to 5; 1 writes one `nats-server.conf`, more write `nats-server-1.conf` … with routes to each other. */
  nodes: number;
  /** Interface every listener binds and the URLs name. */
  host: string;
  /** Client port of node 1. */
  port: number;
  /** WebSocket port of node 1. */
  wsPort: number;
  /** Monitoring port of node 1. */
  httpPort: number;
  /** Route port of node 1 (clusters only). */
  clusterPort: number;
  /** Replace existing keys; without it existing keys are a NatsKeysError. */
  overwrite?: boolean;
}

/** What `writeNatsDeploymentFiles` wrote. */
export interface NatsDeploymentFiles {
  /** The new keys, seeds included. */
  keys: NatsKeys;
  /** nats-keys.json: the secret seeds, mode 0600. */
  keysPath: string;
  /** One nats-server configuration per node, in node order. */
  configPaths: string[];
  /** pnm.env: the pnm settings for these servers. */
  envPath: string;
  /** The settings in pnm.env, in order. */
  env: Record<string, string>;
}

/**
 * Writes new NATS keys, a nats-server configuration for each node (public
 * keys only) and pnm.env, the pnm settings that go with them: what
 * `pnm-server-keys` writes, and what local clusters start from.
 */
export async function writeNatsDeploymentFiles(options: NatsDeploymentFilesOptions): Promise<NatsDeploymentFiles> {
  const { nodes, host, port, wsPort, httpPort, clusterPort } = options;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const outDir = resolve(options.outDir);
  const keysPath = join(outDir, "nats-keys.json");
  const keys = createNatsKeys();
  await saveNatsKeys(keysPath, keys, { overwrite: options.overwrite });
  const indexes = Array.from({ length: nodes }, (_, i) => i);
  const routes = indexes.map((i) => `nats-route://${urlHost}:${clusterPort + i}`);
  const configPaths: string[] = [];
  for (const i of indexes) {
    const single = nodes === 1;
    const configPath = join(outDir, single ? "nats-server.conf" : `nats-server-${i + 1}.conf`);
    const config = renderNatsServerConfig({
      keys,
      serverName: single ? "pnm-dev" : `pnm-${i + 1}`,
      host,
      port: port + i,
      websocketPort: wsPort + i,
      httpPort: httpPort + i,
      storeDir: join(outDir, single ? "jetstream" : `jetstream-${i + 1}`),
      ...(single ? {} : { cluster: { name: "pnm", port: clusterPort + i, routes } }),
    });
    await writeFile(configPath, config, { mode: 0o644 });
    configPaths.push(configPath);
  }
  const env: Record<string, string> = {
    PNM_NATS_URL: indexes.map((i) => `nats://${urlHost}:${port + i}`).join(","),
    PNM_NATS_KEYS_FILE: keysPath,
    PNM_NATS_WS_URLS: indexes.map((i) => `ws://${urlHost}:${wsPort + i}`).join(","),
    ...(nodes >= 3 ? { PNM_NATS_REPLICAS: "3" } : {}),
  };
  const envPath = join(outDir, "pnm.env");
  const lines = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  await writeFile(envPath, `${lines.join("\n")}\n`, { mode: 0o644 });
  return { keys, keysPath, configPaths, envPath, env };
}
