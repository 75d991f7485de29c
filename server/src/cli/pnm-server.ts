#!/usr/bin/env node
// pnm-server: pnm's server, configured from the environment (README.md, "Configuration").
import { ConfigError } from "../config-error.js";
import { NatsServerNotFoundError, NatsServerStartError } from "../nats/embedded-nats.js";
import { NatsReplicasError } from "../nats/replicas.js";
import { PnmStartError, startPnmServer } from "../server.js";

// Failures the operator fixes from the message alone: one line, no stack.
// Anything else is a fault in pnm, and its stack is what a report needs.
const operatorErrors = [ConfigError, PnmStartError, NatsServerNotFoundError, NatsServerStartError, NatsReplicasError];

try {
  const server = await startPnmServer();
  // The first signal shuts down gracefully (PNM_SHUTDOWN_GRACE); a second one ends the process at once.
  const stop = (signal: NodeJS.Signals) => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    process.once("SIGINT", () => process.exit(1));
    process.once("SIGTERM", () => process.exit(1));
    server.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("pnm-server: shutdown failed", err);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  const known = operatorErrors.some((type) => err instanceof type);
  console.error(known ? `pnm-server: ${(err as Error).message.replace(/\s*\n\s*/g, " ")}` : err);
  process.exit(1);
}
