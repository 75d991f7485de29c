#!/usr/bin/env node
// Usage: pnm-server-keys [--out DIR] [--force]   (in a checkout: npm run keys -- [--out DIR] [--force])
// Generates this deployment's NATS keys (upstream ships public sample seeds) and a
// matching nats-server configuration for local development.
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderNatsServerConfig } from "../nats/nats-config.js";
import { createNatsKeys, NatsKeysError, saveNatsKeys } from "../nats/nats-keys.js";

// Upstream's ports: client 4222, WebSocket 8222 (nats_ws_urls), monitoring 8223.
const devPorts = { port: 4222, websocketPort: 8222, httpPort: 8223 };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: "string", default: ".pnm" }, force: { type: "boolean", default: false } },
  });
  const outDir = resolve(values.out);
  const keysPath = join(outDir, "nats-keys.json");
  const configPath = join(outDir, "nats-server.conf");
  const keys = createNatsKeys();
  try {
    await saveNatsKeys(keysPath, keys, { overwrite: values.force });
  } catch (error) {
    if (error instanceof NatsKeysError && (error.cause as NodeJS.ErrnoException | undefined)?.code === "EEXIST") {
      console.error(
        `${keysPath} already exists; pass --force to replace it (clients and servers using the old keys stop working).`,
      );
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const config = renderNatsServerConfig({
    keys,
    serverName: "pnm-dev",
    ...devPorts,
    storeDir: join(outDir, "jetstream"),
  });
  await writeFile(configPath, config, { mode: 0o644 });
  console.log(`wrote ${keysPath} (secret seeds, mode 0600)`);
  console.log(`wrote ${configPath} (public keys only)`);
  console.log(`callout issuer ${keys.issuer.publicKey}, xkey ${keys.xkey.publicKey}`);
  console.log(`run: nats-server -c ${configPath}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
