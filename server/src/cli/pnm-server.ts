#!/usr/bin/env node
// pnm-server: pnm's server, configured from the environment (README.md, "Configuration").
import { ConfigError } from "../config-error.js";
import { NatsServerNotFoundError, NatsServerStartError } from "../nats/embedded-nats.js";
import { PnmStartError, startPnmServer } from "../server.js";

// Failures the operator fixes from the message alone: one line, no stack.
// Anything else is a fault in pnm, and its stack is what a report needs.
const operatorErrors = [ConfigError, PnmStartError, NatsServerNotFoundError, NatsServerStartError];

try {
  const server = await startPnmServer();
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  const known = operatorErrors.some((type) => err instanceof type);
  console.error(known ? `pnm-server: ${(err as Error).message.replace(/\s*\n\s*/g, " ")}` : err);
  process.exit(1);
}
