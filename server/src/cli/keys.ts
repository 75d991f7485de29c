#!/usr/bin/env node
// Usage: pnm-server-keys [options]   (in a checkout: npm run keys -- [options]); --help lists them.
// Generates this deployment's NATS keys (upstream ships public sample seeds), a
// matching nats-server configuration for each node, and the pnm settings that go with them.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type NatsDeploymentFiles, writeNatsDeploymentFiles } from "../nats/deployment-files.js";
import { NatsKeysError } from "../nats/nats-keys.js";

const usage = `Usage: pnm-server-keys [options]   (in a pnm checkout: npm run keys -- [options])

Writes new NATS keys (nats-keys.json, secret seeds, mode 0600), a nats-server
configuration for each node (public keys only), and pnm.env, the pnm settings
for those servers. Node i (1..N) listens on each base port + (i - 1).

Options:
  --out DIR            folder to write into (default .pnm)
  --force              replace existing keys (servers and pnm instances using the old ones stop working)
  --host HOST          interface every listener binds and the URLs name (default 127.0.0.1)
  --port N             client port (default 4222)
  --ws-port N          WebSocket port for participants (default 9222)
  --http-port N        monitoring port: /healthz, /varz (default 8222)
  --cluster N          nodes of a local cluster, 1 to 5 (default 1: one nats-server.conf); N > 1 writes
                       nats-server-1.conf .. nats-server-N.conf with routes to each other
  --cluster-port N     route port of node 1 (default 6222; only with --cluster)
  -h, --help           print this and exit`;

function portOption(name: string, value: string | undefined, fallback: number, nodes: number): number {
  if (value === undefined) return fallback;
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port + nodes - 1 <= 65535))
    throw new UsageError(`--${name}: expected a port number, got "${value}"`);
  return port;
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: ".pnm" },
      force: { type: "boolean", default: false },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      "ws-port": { type: "string" },
      "http-port": { type: "string" },
      cluster: { type: "string" },
      "cluster-port": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const nodes = values.cluster === undefined ? 1 : /^[1-5]$/.test(values.cluster) ? Number(values.cluster) : 0;
  if (nodes === 0) throw new UsageError(`--cluster: expected a node count from 1 to 5, got "${values.cluster}"`);
  const port = portOption("port", values.port, 4222, nodes);
  const wsPort = portOption("ws-port", values["ws-port"], 9222, nodes);
  const httpPort = portOption("http-port", values["http-port"], 8222, nodes);
  const clusterPort = portOption("cluster-port", values["cluster-port"], 6222, nodes);
  let files: NatsDeploymentFiles;
  try {
    files = await writeNatsDeploymentFiles({
      outDir: values.out,
      nodes,
      host: values.host,
      port,
      wsPort,
      httpPort,
      clusterPort,
      overwrite: values.force,
    });
  } catch (error) {
    if (error instanceof NatsKeysError && (error.cause as NodeJS.ErrnoException | undefined)?.code === "EEXIST") {
      console.error(
        `${join(resolve(values.out), "nats-keys.json")} already exists; pass --force to replace it (clients and servers using the old keys stop working).`,
      );
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const { keys, keysPath, configPaths, envPath } = files;
  const env = Object.entries(files.env).map(([name, value]) => `${name}=${value}`);
  console.log(`wrote ${keysPath} (secret seeds, mode 0600)`);
  for (const configPath of configPaths) console.log(`wrote ${configPath} (public keys only)`);
  console.log(`wrote ${envPath} (the pnm settings below)`);
  console.log(`callout issuer ${keys.issuer.publicKey}, xkey ${keys.xkey.publicKey}`);
  console.log("");
  console.log(
    `Run nats-server >= 2.10 with ${nodes === 1 ? "this configuration" : "each configuration, one process per node"}`,
  );
  console.log('(set NATS_SERVER to its path; in a pnm checkout NATS_SERVER="$(bash scripts/ensure-nats.sh)"):');
  for (const configPath of configPaths) console.log(`  "\${NATS_SERVER:-nats-server}" -c ${configPath}`);
  console.log("");
  console.log("Start every pnm instance with these settings, and the same API keys on each (PNM_API_KEYS_FILE");
  console.log("or PNM_API_KEY/PNM_API_SECRET); PNM_NATS_WS_URLS is what browsers dial (wss:// behind TLS):");
  for (const line of env) console.log(`  ${line}`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`pnm-server-keys: ${(error as Error).message}; see --help`);
  } else {
    console.error(error instanceof Error ? error.message : error);
  }
  process.exitCode = 1;
});
