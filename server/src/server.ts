import { join } from "node:path";
import { AuthorizationError, type NatsConnection } from "@nats-io/nats-core";
import { startPnmApp } from "./app.js";
import { defaultShutdownGraceMs, type ParsedConfig, type PnmConfig, parseConfig } from "./config.js";
import { ensureDevCredentials } from "./dev-credentials.js";
import { createPnmLogger, type Logger, logEvent } from "./logger.js";
import { resolveNatsServerBinary } from "./nats/embedded-nats.js";
import { loadOrCreateNatsKeys, type NatsKeys, NatsKeysError } from "./nats/nats-keys.js";
import { connectAsServer, type ServerConnectionOptions, systemInboxPrefix } from "./nats/server-connection.js";
import { type SupervisedNatsServer, superviseNatsServer } from "./nats/supervised-nats.js";
import { participantLimits } from "./plane/participant-limits.js";

/** How `startPnmServer` starts pnm; every option has the `pnm-server` command's default. */
export interface PnmServerOptions {
  /**
   * Default: `parseConfig()`, the `PNM_*` environment variables, as
   * `pnm-server` reads them. Without API credentials, dev credentials are
   * generated (`ensureDevCredentials`).
   */
  config?: ParsedConfig;
  /** Default: `createPnmLogger({ level: config.logLevel })`, JSON lines on stdout (readable ones on a terminal). */
  logger?: Logger;
}

/** A running pnm server. */
export interface PnmServer {
  /** `http://host:port`: HTTP/1.1 and cleartext HTTP/2 on one port (REST, Connect, gRPC-web, gRPC). */
  readonly url: string;
  /** The port it listens on: the configured one, or the one the system picked for port 0. */
  readonly port: number;
  /** `http://host:port/metrics` when `PNM_METRICS_PORT` is set. */
  readonly metricsUrl?: string;
  /** Stops serving, drains the NATS connections and stops the embedded nats-server, if there is one. */
  close(): Promise<void>;
  /**
   * What SIGTERM and SIGINT do to `pnm-server`: close(), but the requests in
   * flight get up to `PNM_SHUTDOWN_GRACE` to finish, and each step is logged.
   */
  shutdown(why?: string): Promise<void>;
}

/**
 * pnm could not start for a reason its operator can fix: the port is taken,
 * NATS cannot be reached or refuses the server's keys, the keys file is
 * unusable. The message names the cause and what to do, in one line;
 * `cause` is the error underneath.
 */
export class PnmStartError extends Error {
  override readonly name = "PnmStartError";
}

/**
 * Starts pnm as the `pnm-server` command does: the configuration, the dev
 * credentials when none are configured, the NATS keys (created when the keys
 * file is missing), a nats-server of its own unless `config.natsUrl` names
 * one, the server's NATS connections, and the HTTP listener. A failed start
 * stops whatever it had started; failures an operator can fix are a
 * ConfigError, a PnmStartError, a NatsServerNotFoundError or a
 * NatsServerStartError, whose messages say what to do.
 */
export async function startPnmServer(options: PnmServerOptions = {}): Promise<PnmServer> {
  const parsed = options.config ?? parseConfig();
  const logger = options.logger ?? createPnmLogger({ level: parsed.logLevel });
  let config = await ensureDevCredentials(parsed);
  const keys = await loadKeys(config.natsKeysFile);
  let embedded: SupervisedNatsServer | undefined;
  if (!config.natsUrl) {
    embedded = await superviseNatsServer({
      logger,
      port: config.natsPort,
      websocketPort: config.natsWsPort,
      binary: resolveNatsServerBinary(config.natsServerBin),
      keys,
      dataDir: join(config.dataDir, "nats"),
      accountLimits: participantLimits(config).nats,
      onLog: (level, message) => logEvent(logger, level, { component: "nats-server" }, message),
    });
    logger.info(
      `embedded nats-server (pid ${embedded.pid}) at ${embedded.url} (WebSocket ${embedded.wsUrl}), data in ${embedded.dataDir}`,
    );
    if (config.natsWsUrls.length === 0) config = { ...config, natsWsUrls: [embedded.wsUrl] };
  }
  const natsUrl = config.natsUrl ?? embedded!.url;
  const connections: NatsConnection[] = [];
  const stopNats = async () => {
    await Promise.all(connections.map((c) => c.drain().catch(() => c.close())));
    await embedded?.stop();
  };
  const connect = async (options: Omit<ServerConnectionOptions, "url">) => {
    const connection = await connectAsServer({ url: natsUrl, ...options }).catch((cause: unknown) => {
      throw natsConnectError(config, natsUrl, cause);
    });
    connections.push(connection);
    return connection;
  };
  try {
    const nc = await connect({ user: keys.serverUser });
    const systemNc = await connect({
      user: keys.systemUser,
      name: "pnm-server-system",
      inboxPrefix: systemInboxPrefix,
    });
    const app = await startPnmApp({ config, nc, systemNc, keys, logger }).catch((cause: unknown) => {
      throw listenError(config, cause) ?? cause;
    });
    if (config.devCredentialsFile) logger.info(`dev API credentials (generated) are in ${config.devCredentialsFile}`);
    logger.info(`NATS keys are in ${config.natsKeysFile}`);
    logger.info(`pnm listening on ${app.url} (HTTP/1.1 and h2c: REST, Connect, gRPC-web, gRPC)`);
    if (app.metricsUrl) logger.info(`Prometheus metrics on ${app.metricsUrl}`);
    if (app.demoUrl)
      logger.info(
        `dev mode: the demo is at ${app.demoUrl} (its dev-only routes sign API requests for pages of this origin; keep PNM_DEV_MODE off in production)`,
      );
    let closing: Promise<void> | undefined;
    const close = (graceMs: number, log: (message: string) => void) =>
      (closing ??= (async () => {
        await app.close(graceMs);
        log("shutdown: closing the NATS connections");
        await Promise.all(connections.map(closeConnection));
        if (embedded) {
          log("shutdown: stopping the embedded nats-server");
          await embedded.stop();
        }
        log("shutdown: done");
      })());
    return {
      url: app.url,
      port: app.port,
      metricsUrl: app.metricsUrl,
      close: () => close(0, () => undefined),
      shutdown: (why) => {
        const graceMs = config.shutdownGraceMs ?? defaultShutdownGraceMs;
        if (!closing) logger.info(`shutdown${why ? ` (${why})` : ""}: requests in flight have ${graceMs} ms to finish`);
        return close(graceMs, (message) => logger.info(message));
      },
    };
  } catch (error) {
    await stopNats();
    throw error;
  }
}

/** Drains a connection; one that cannot drain in 2 s (NATS is down) is closed. */
async function closeConnection(connection: NatsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
  await Promise.race([connection.drain().catch(() => undefined), timeout]);
  clearTimeout(timer);
  if (!connection.isClosed()) await connection.close().catch(() => undefined);
}

async function loadKeys(file: string): Promise<NatsKeys> {
  try {
    return await loadOrCreateNatsKeys(file);
  } catch (cause) {
    if (!(cause instanceof NatsKeysError)) throw cause;
    const detail = cause.cause instanceof Error ? ` (${cause.cause.message})` : "";
    throw new PnmStartError(
      `PNM_NATS_KEYS_FILE: ${cause.message}${detail}; point PNM_NATS_KEYS_FILE at this deployment's keys (pnm-server-keys --out DIR writes them), or remove the file to have new ones generated`,
      { cause },
    );
  }
}

function natsConnectError(config: PnmConfig, url: string, cause: unknown): PnmStartError {
  if (cause instanceof AuthorizationError) {
    return new PnmStartError(
      `NATS at ${url} refused pnm's server user: the keys in ${config.natsKeysFile} are not the ones that nats-server was configured with; set PNM_NATS_KEYS_FILE to that deployment's keys file, or write its nats-server.conf anew with pnm-server-keys`,
      { cause },
    );
  }
  const why = cause instanceof Error ? cause.message : String(cause);
  const advice = config.natsUrl
    ? "check that NATS is running there and that PNM_NATS_URL is right, or unset PNM_NATS_URL to run an embedded nats-server"
    : "the embedded nats-server stopped answering; see its log in the data directory";
  return new PnmStartError(`cannot connect to NATS at ${url} (${why}): ${advice}`, { cause });
}

/** The operator's reading of a listen failure; undefined for any other error. */
function listenError(config: PnmConfig, cause: unknown): PnmStartError | undefined {
  const where = `port ${config.httpPort} on ${config.host}`;
  const advice: Record<string, string> = {
    EADDRINUSE: `${where} is in use: stop what listens there, or set PNM_HTTP_PORT to a free port`,
    EACCES: `not allowed to listen on ${where}: set PNM_HTTP_PORT to 1024 or above, or give the process the right to bind it`,
    EADDRNOTAVAIL: `${config.host} is not an address of this machine: set PNM_HOST to one of its addresses, such as 127.0.0.1 or 0.0.0.0`,
    ENOTFOUND: `PNM_HOST ${config.host} does not resolve: set PNM_HOST to an address of this machine, such as 127.0.0.1 or 0.0.0.0`,
  };
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code && advice[code] ? new PnmStartError(advice[code], { cause }) : undefined;
}
