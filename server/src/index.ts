/**
 * pnm's server as a library, for embedding it in another Node process:
 * `startPnmServer` does what the `pnm-server` command does.
 *
 * @packageDocumentation
 */
export { startPnmServer, type PnmServer, type PnmServerOptions } from "./server.js";
export { ConfigError, loadConfig, type PnmConfig } from "./config.js";
export { consoleLogger, silentLogger, type Logger } from "./logger.js";
export { NatsServerNotFoundError, NatsServerStartError } from "./nats/embedded-nats.js";
