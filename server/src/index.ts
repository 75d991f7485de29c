/**
 * pnm's server as a library, for embedding it in another Node process:
 * `startPnmServer` does what the `pnm-server` command does, configured by
 * `parseConfig` from the same `PNM_*` variables unless given a configuration.
 *
 * @packageDocumentation
 */

export { type Environment, type ParsedConfig, type PnmConfig, parseConfig } from "./config.js";
export { ConfigError } from "./config-error.js";
export { ensureDevCredentials } from "./dev-credentials.js";
export {
  consoleLogger,
  createPnmLogger,
  type LogFields,
  type Logger,
  type LogLevel,
  logEvent,
  type PnmLogger,
  type PnmLoggerOptions,
  silentLogger,
} from "./logger.js";
export { NatsServerNotFoundError, NatsServerStartError } from "./nats/embedded-nats.js";
export { type PnmServer, type PnmServerOptions, PnmStartError, startPnmServer } from "./server.js";
