#!/usr/bin/env node
// pnm-server: pnm's server, configured from the environment (README.md, "Configuration").
import { ConfigError } from "../config.js";
import { NatsServerNotFoundError, NatsServerStartError } from "../nats/embedded-nats.js";
import { startPnmServer } from "../server.js";

// Failures the operator fixes from the message alone: one line, no stack.
const operatorErrors = [ConfigError, NatsServerNotFoundError, NatsServerStartError];

try {
  const server = await startPnmServer();
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(operatorErrors.some((type) => err instanceof type) ? `pnm-server: ${(err as Error).message}` : err);
  process.exit(1);
}
