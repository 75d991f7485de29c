import { join, resolve } from "node:path";
import { ApiKeyPairsError, checkApiKeyPairs } from "./auth/api-keyring.js";
import { defaultSignatureWindowMs, type SignatureMode, signatureModes } from "./auth/api-signature.js";
import { ConfigError } from "./config-error.js";
import { parseDuration } from "./duration.js";
import { defaultConnectionLimits } from "./http/connection-limits.js";
import { defaultWireWatchLimits } from "./http/dev-wire.js";
import { type LogLevel, logLevels } from "./logger.js";
import { defaultNatsAccountLimits, natsAccountLimitRanges } from "./nats/nats-config.js";
import { defaultWorkerQueueLimits } from "./nats/room-streams.js";
import type { ParticipantLimitSettings } from "./plane/participant-limits.js";
import { defaultPublishLimits } from "./plane/publish-monitor.js";
import { defaultRequestLimit } from "./plane/request-limits.js";

/**
 * The server's settings. `parseConfig` reads them from the `PNM_*`
 * environment variables (README.md, "Configuration"), named here with each.
 */
export interface PnmConfig extends ParticipantLimitSettings {
  /** Interface to listen on (`PNM_HOST`). */
  host: string;
  /** One port for HTTP/1.1 and cleartext HTTP/2; 0 lets the system pick one (`PNM_HTTP_PORT`). */
  httpPort: number;
  /** The one API key (`PNM_API_KEY`, or the generated dev key); empty when `apiKeysFile` is set. */
  apiKey: string;
  /** Its secret, at least 32 bytes (`PNM_API_SECRET`, or the generated dev secret); empty when `apiKeysFile` is set. */
  apiSecret: string;
  /** A JSON file of API key pairs (auth/api-keys-file.ts), followed for changes; replaces apiKey/apiSecret (`PNM_API_KEYS_FILE`). */
  apiKeysFile?: string;
  /** Which request signatures are accepted; default v1-and-v2 (`PNM_API_SIGNATURE`). */
  apiSignature?: SignatureMode;
  /** How far a PNM-SIGNATURE timestamp may be from the server's clock; default 5 minutes (`PNM_SIGNATURE_WINDOW`). */
  signatureWindowMs?: number;
  /** NATS to use (`PNM_NATS_URL`): one URL or several, comma-separated, all servers of one cluster; unset: the server spawns its own nats-server. */
  natsUrl?: string;
  /** Replicas of every KV bucket and stream pnm creates, 1 to 5 (`PNM_NATS_REPLICAS`); unset: 3 on a cluster of at least 3 servers, else 1. */
  natsReplicas?: number;
  /** Handed to participants by VerifyToken (`PNM_NATS_WS_URLS`); empty: the embedded server's. */
  natsWsUrls: string[];
  /** The nats-server to embed when `natsUrl` is unset (`PNM_NATS_SERVER_BIN`); unset: the first on PATH. */
  natsServerBin?: string;
  /** The embedded nats-server's client port (`PNM_NATS_PORT`); unset: one it picks. Kept across its restarts either way. */
  natsPort?: number;
  /** The embedded nats-server's WebSocket port (`PNM_NATS_WS_PORT`); unset: one it picks. Kept across its restarts either way. */
  natsWsPort?: number;
  /** How long a SIGTERM or SIGINT leaves requests in flight to finish (`PNM_SHUTDOWN_GRACE`); unset: 10s. */
  shutdownGraceMs?: number;
  /** The NATS keys, created when missing (`PNM_NATS_KEYS_FILE`; default nats-keys.json in `dataDir`). */
  natsKeysFile: string;
  /** Access-token lifetime, 1m to 24h (`PNM_TOKEN_VALIDITY`). */
  tokenValidityMs: number;
  /** Dev credentials, keys and the embedded nats-server's data (`PNM_DATA_DIR`). */
  dataDir: string;
  /** The lowest level logged (`PNM_LOG_LEVEL`); unset: info. */
  logLevel?: LogLevel;
  /** The Prometheus listener's port (`PNM_METRICS_PORT`; 0 takes a free one); unset: no metrics listener. */
  metricsPort?: number;
  /** The Prometheus listener's interface (`PNM_METRICS_HOST`); unset: 127.0.0.1. */
  metricsHost?: string;
  /** Largest request body accepted on any route, in bytes (`PNM_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** How long a disconnected participant keeps its seat for a reconnect (`PNM_OFFLINE_AFTER`). */
  offlineAfterMs: number;
  /** How long after expiry a token may still be renewed over NATS, at most 10m (`PNM_RENEWAL_GRACE`). */
  renewalGraceMs: number;
  /**
   * A participant's session ends this long after its join token was issued, 1m to 24h: renewal stops there
   * (`PNM_MAX_SESSION`); unset: 24h.
   */
  maxSessionMs?: number;
  /** Browser origins allowed to call participant routes (`PNM_CORS_ORIGINS`). */
  corsOrigins: string[];
  /**
   * Rooms open to upstream's unmodified web client (`PNM_UPSTREAM_WEB_CLIENT=on`): its default for
   * `room_features.upstream_web_client`, and the switch without which no room may ask for it; unset: off.
   */
  upstreamWebClient?: boolean;
  /** LiveKit for media (`PNM_LIVEKIT_URL`, `PNM_LIVEKIT_API_KEY`, `PNM_LIVEKIT_API_SECRET`); unset: media requests are refused. */
  livekit?: { url: string; apiKey: string; apiSecret: string };
  /** The file the API credentials came from, when `ensureDevCredentials` generated them (or reused those it generated before). */
  devCredentialsFile?: string;
  /**
   * Dev mode (`PNM_DEV_MODE`, `on` or `off`): the demo and its dev-only routes, which sign API requests for
   * any caller. Unset: on exactly when the API credentials are generated dev credentials (`devCredentialsFile`).
   */
  devMode?: boolean;
  /** The built demo app served at `/demo/` in dev mode (`PNM_DEMO_DIR`); unset: no pages, the dev routes only. */
  demoDir?: string;
  /** Wire-panel streams open at once in dev mode (`PNM_DEMO_WIRE_STREAMS`); unset: 16. */
  demoWireStreams?: number;
  /** Bytes a wire-panel stream may hold unread before it is closed (`PNM_DEMO_WIRE_BACKLOG`); unset: 1 MiB. */
  demoWireBacklogBytes?: number;
  /** From a request's first byte to the end of its headers (`PNM_HEADERS_TIMEOUT`); unset: ConnectionLimits' default. */
  headersTimeoutMs?: number;
  /** From a request's first byte until its whole body has arrived (`PNM_REQUEST_TIMEOUT`); unset: ConnectionLimits' default. */
  requestTimeoutMs?: number;
  /** How long a connection may stay without a request in progress (`PNM_IDLE_TIMEOUT`); unset: ConnectionLimits' default. */
  idleTimeoutMs?: number;
  /** How long a new connection has to show whether it speaks HTTP/1.1 or HTTP/2 (`PNM_FIRST_BYTES_TIMEOUT`); unset: ConnectionLimits' default. */
  firstBytesTimeoutMs?: number;
  /** Open connections on the HTTP port (`PNM_MAX_CONNECTIONS`); unset: ConnectionLimits' default. */
  maxConnections?: number;
  /** Open connections from one client address, 0 for no cap (`PNM_MAX_CONNECTIONS_PER_CLIENT`); unset: ConnectionLimits' default. */
  maxConnectionsPerClient?: number;
}

/**
 * What `parseConfig` returns: a `PnmConfig` whose API credentials are absent
 * when neither `PNM_API_KEY`/`PNM_API_SECRET` nor `PNM_API_KEYS_FILE` is set,
 * for `ensureDevCredentials` to generate. A `PnmConfig` is one too.
 */
export type ParsedConfig = Omit<PnmConfig, "apiKey" | "apiSecret"> & Partial<Pick<PnmConfig, "apiKey" | "apiSecret">>;

/** Environment variables, as `process.env` holds them. */
export type Environment = Readonly<Record<string, string | undefined>>;

const hour = 3_600_000;
/** How long a participant's session may be renewed when `PNM_MAX_SESSION` is unset. */
export const defaultMaxSessionMs = 24 * hour;
/** How long a SIGTERM leaves requests in flight when `PNM_SHUTDOWN_GRACE` is unset. */
export const defaultShutdownGraceMs = 10_000;
const durationExample = "such as 90s, 10m or 1h";

/**
 * Reads every `PNM_*` setting from `env` (README.md, "Configuration"),
 * without touching anything else: no file is read or written (dev
 * credentials are `ensureDevCredentials`'s, the keys file is read at start).
 * Throws a ConfigError naming the first variable that is invalid, the form
 * it accepts, and what it got (never a secret's value).
 */
export function parseConfig(env: Environment = process.env): ParsedConfig {
  const text = (name: string) => env[name] || undefined;
  const dataDir = resolve(text("PNM_DATA_DIR") ?? ".pnm");
  const headersTimeoutMs = duration(env, "PNM_HEADERS_TIMEOUT", defaultConnectionLimits.headersTimeoutMs, {
    min: 1,
    max: 24 * hour,
  });
  const requestTimeoutMs = duration(env, "PNM_REQUEST_TIMEOUT", defaultConnectionLimits.requestTimeoutMs, {
    min: 1,
    max: 24 * hour,
  });
  if (headersTimeoutMs > requestTimeoutMs) {
    throw refused(
      "PNM_HEADERS_TIMEOUT",
      `at most PNM_REQUEST_TIMEOUT (${formatMs(requestTimeoutMs)})`,
      env.PNM_HEADERS_TIMEOUT ?? formatMs(headersTimeoutMs),
    );
  }
  return {
    host: text("PNM_HOST") ?? "127.0.0.1",
    httpPort: integer(env, "PNM_HTTP_PORT", 8080, { min: 0, max: 65535, form: "a port number from 0 to 65535" }),
    ...apiCredentials(env),
    apiSignature: choice(env, "PNM_API_SIGNATURE", signatureModes, "v1-and-v2"),
    upstreamWebClient: choice(env, "PNM_UPSTREAM_WEB_CLIENT", ["on", "off"], "off") === "on",
    signatureWindowMs: duration(env, "PNM_SIGNATURE_WINDOW", defaultSignatureWindowMs, { min: 1000, max: 15 * 60_000 }),
    natsUrl: natsUrlList(text("PNM_NATS_URL")),
    natsReplicas:
      env.PNM_NATS_REPLICAS === undefined
        ? undefined
        : integer(env, "PNM_NATS_REPLICAS", 1, { min: 1, max: 5, form: "a replica count from 1 to 5" }),
    natsWsUrls: urls(
      env,
      "PNM_NATS_WS_URLS",
      "WebSocket URLs such as wss://nats.example.com",
      (url) => url.protocol === "ws:" || url.protocol === "wss:",
    ),
    natsServerBin: text("PNM_NATS_SERVER_BIN"),
    natsPort: optionalPort(env, "PNM_NATS_PORT"),
    natsWsPort: optionalPort(env, "PNM_NATS_WS_PORT"),
    shutdownGraceMs: duration(env, "PNM_SHUTDOWN_GRACE", defaultShutdownGraceMs, { min: 0, max: hour }),
    natsKeysFile: resolve(text("PNM_NATS_KEYS_FILE") ?? join(dataDir, "nats-keys.json")),
    tokenValidityMs: duration(env, "PNM_TOKEN_VALIDITY", 10 * 60_000, { min: 60_000, max: 24 * hour }),
    dataDir,
    logLevel: choice(env, "PNM_LOG_LEVEL", logLevels, "info"),
    metricsPort:
      env.PNM_METRICS_PORT === undefined || env.PNM_METRICS_PORT === ""
        ? undefined
        : integer(env, "PNM_METRICS_PORT", 0, { min: 0, max: 65535, form: "a port number from 0 to 65535" }),
    metricsHost: text("PNM_METRICS_HOST") ?? "127.0.0.1",
    maxBodyBytes: integer(env, "PNM_MAX_BODY_BYTES", 64 * 1024, {
      min: 1024,
      form: "a number of bytes, at least 1024",
    }),
    offlineAfterMs: duration(env, "PNM_OFFLINE_AFTER", 5_000, { min: 0, max: 24 * hour }),
    renewalGraceMs: duration(env, "PNM_RENEWAL_GRACE", 60_000, { min: 0, max: 10 * 60_000 }),
    maxSessionMs: duration(env, "PNM_MAX_SESSION", defaultMaxSessionMs, { min: 60_000, max: 24 * hour }),
    corsOrigins: urls(
      env,
      "PNM_CORS_ORIGINS",
      "origins such as https://app.example.com (no path)",
      (url, item) => url.origin === item,
    ),
    livekit: liveKit(env),
    devMode: env.PNM_DEV_MODE === undefined ? undefined : choice(env, "PNM_DEV_MODE", ["on", "off"], "off") === "on",
    demoDir: env.PNM_DEMO_DIR ? resolve(env.PNM_DEMO_DIR) : undefined,
    demoWireStreams: integer(env, "PNM_DEMO_WIRE_STREAMS", defaultWireWatchLimits.maxStreams, {
      min: 1,
      form: "a whole number, at least 1",
    }),
    demoWireBacklogBytes: integer(env, "PNM_DEMO_WIRE_BACKLOG", defaultWireWatchLimits.maxBufferedBytes, {
      min: 64 * 1024,
      form: "a number of bytes, at least 65536",
    }),
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: duration(env, "PNM_IDLE_TIMEOUT", defaultConnectionLimits.idleTimeoutMs, { min: 1, max: 24 * hour }),
    firstBytesTimeoutMs: duration(env, "PNM_FIRST_BYTES_TIMEOUT", defaultConnectionLimits.firstBytesTimeoutMs, {
      min: 1,
      max: 24 * hour,
    }),
    maxConnections: integer(env, "PNM_MAX_CONNECTIONS", defaultConnectionLimits.maxConnections, {
      min: 1,
      form: "a whole number, at least 1",
    }),
    maxConnectionsPerClient: integer(
      env,
      "PNM_MAX_CONNECTIONS_PER_CLIENT",
      defaultConnectionLimits.maxConnectionsPerClient,
      {
        min: 0,
        form: "a whole number, 0 for no cap",
      },
    ),
    ...participantLimits(env),
  };
}

/** The NATS plane's per-participant limits (README.md, "Limits per participant"). */
function participantLimits(env: Environment): Partial<PnmConfig> {
  const { maxSubscriptions, maxPayload } = natsAccountLimitRanges;
  const wholeFrom = (min: number, max = Number.MAX_SAFE_INTEGER, unit = "a whole number") => ({
    min,
    max,
    form: max === Number.MAX_SAFE_INTEGER ? `${unit}, at least ${min}` : `${unit} from ${min} to ${max}`,
  });
  const publishCheckIntervalMs = duration(env, "PNM_PUBLISH_CHECK_INTERVAL", defaultPublishLimits.checkIntervalMs, {
    min: 0,
    max: hour,
  });
  if (publishCheckIntervalMs > 0 && publishCheckIntervalMs < 100) {
    throw refused(
      "PNM_PUBLISH_CHECK_INTERVAL",
      "0 (never) or a duration from 100ms to 1h",
      env.PNM_PUBLISH_CHECK_INTERVAL ?? "",
    );
  }
  return {
    natsMaxSubscriptions: integer(
      env,
      "PNM_NATS_MAX_SUBSCRIPTIONS",
      defaultNatsAccountLimits.maxSubscriptions,
      wholeFrom(maxSubscriptions.min, maxSubscriptions.max),
    ),
    natsMaxPayload: integer(
      env,
      "PNM_NATS_MAX_PAYLOAD",
      defaultNatsAccountLimits.maxPayload,
      wholeFrom(maxPayload.min, maxPayload.max, "a number of bytes"),
    ),
    requestRate: integer(env, "PNM_REQUEST_RATE", defaultRequestLimit.ratePerSecond, wholeFrom(1)),
    requestBurst: integer(env, "PNM_REQUEST_BURST", defaultRequestLimit.burst, wholeFrom(1)),
    publishRate: integer(env, "PNM_PUBLISH_RATE", defaultPublishLimits.messagesPerSecond, wholeFrom(1)),
    publishByteRate: integer(
      env,
      "PNM_PUBLISH_BYTE_RATE",
      defaultPublishLimits.bytesPerSecond,
      wholeFrom(1024, undefined, "a number of bytes"),
    ),
    publishCheckIntervalMs,
    workerQueuePerUser: integer(env, "PNM_WORKER_QUEUE_PER_USER", defaultWorkerQueueLimits.perUser, wholeFrom(1)),
    workerQueueBytes: integer(
      env,
      "PNM_WORKER_QUEUE_BYTES",
      defaultWorkerQueueLimits.maxBytes,
      wholeFrom(1024 * 1024, undefined, "a number of bytes"),
    ),
  };
}

/** A port from 1 to 65535, or undefined when the variable is unset. */
function optionalPort(env: Environment, name: string): number | undefined {
  if (env[name] === undefined) return undefined;
  return integer(env, name, 0, { min: 1, max: 65535, form: "a port number from 1 to 65535" });
}

function refused(name: string, expected: string, got: string): ConfigError {
  return new ConfigError(`${name}: expected ${expected}, got ${JSON.stringify(got)}`);
}

/** `PNM_NATS_URL` with the spaces and empty items of its comma-separated list removed. */
function natsUrlList(value: string | undefined): string | undefined {
  const items = (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length > 0 ? items.join(",") : undefined;
}

// Numbers and durations have no meaningful empty value: `PNM_X=` is a mistake,
// not a way to ask for the default. Text settings treat empty as unset.
function integer(
  env: Environment,
  name: string,
  fallback: number,
  rule: { min: number; max?: number; form: string },
): number {
  const value = env[name];
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < rule.min || n > (rule.max ?? Number.MAX_SAFE_INTEGER))
    throw refused(name, rule.form, value);
  return n;
}

/** Whole milliseconds within the range; past 24.8 days Node's timers would fire at once, so no setting goes beyond a day. */
function duration(env: Environment, name: string, fallbackMs: number, range: { min: number; max: number }): number {
  const value = env[name];
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined) throw refused(name, `a duration ${durationExample}`, value);
  if (ms < range.min || ms > range.max)
    throw refused(name, `a duration from ${formatMs(range.min)} to ${formatMs(range.max)}`, value);
  return Math.round(ms);
}

function formatMs(ms: number): string {
  if (ms === 0) return "0s";
  const [unit, size] = (
    [
      ["h", hour],
      ["m", 60_000],
      ["s", 1000],
    ] as const
  ).find(([, each]) => ms % each === 0) ?? ["ms", 1];
  return `${ms / size}${unit}`;
}

function choice<T extends string>(env: Environment, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw refused(name, allowed.join(" or "), value);
  return value as T;
}

/** A comma-separated list of URLs, each of which `fits`. */
function urls(env: Environment, name: string, form: string, fits: (url: URL, item: string) => boolean): string[] {
  const items = (env[name] ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!URL.canParse(item) || !fits(new URL(item), item)) throw refused(name, `comma-separated ${form}`, item);
  }
  return items;
}

function liveKit(env: Environment): PnmConfig["livekit"] {
  const [url, apiKey, apiSecret] = ["PNM_LIVEKIT_URL", "PNM_LIVEKIT_API_KEY", "PNM_LIVEKIT_API_SECRET"].map(
    (name) => env[name] || undefined,
  );
  if (!url && !apiKey && !apiSecret) return undefined;
  if (!url || !apiKey || !apiSecret) {
    const missing = [
      !url && "PNM_LIVEKIT_URL",
      !apiKey && "PNM_LIVEKIT_API_KEY",
      !apiSecret && "PNM_LIVEKIT_API_SECRET",
    ].filter(Boolean);
    throw new ConfigError(
      `${missing.join(", ")}: expected all three PNM_LIVEKIT_* settings or none, got the others only`,
    );
  }
  const protocols = ["http:", "https:", "ws:", "wss:"];
  if (!URL.canParse(url) || !protocols.includes(new URL(url).protocol))
    throw refused("PNM_LIVEKIT_URL", "a URL such as wss://livekit.example.com", url);
  return { url, apiKey, apiSecret };
}

function apiCredentials(env: Environment): Pick<ParsedConfig, "apiKey" | "apiSecret" | "apiKeysFile"> {
  const apiKey = env.PNM_API_KEY || undefined;
  const apiSecret = env.PNM_API_SECRET || undefined;
  const apiKeysFile = env.PNM_API_KEYS_FILE || undefined;
  if (apiKeysFile) {
    // The file is read (and checked) when the server starts, and again whenever it changes.
    if (apiKey || apiSecret)
      throw new ConfigError(
        "PNM_API_KEYS_FILE: expected alone, got PNM_API_KEY or PNM_API_SECRET as well; set the keys file or the one pair, not both",
      );
    return { apiKey: "", apiSecret: "", apiKeysFile: resolve(apiKeysFile) };
  }
  if (!apiKey && !apiSecret) return {};
  if (!apiKey || !apiSecret) {
    const [missing, given] = apiKey ? ["PNM_API_SECRET", "PNM_API_KEY"] : ["PNM_API_KEY", "PNM_API_SECRET"];
    throw new ConfigError(
      `${missing}: expected it together with ${given} (or neither, for generated dev credentials), got none`,
    );
  }
  checkApiCredentials(apiKey, apiSecret, "PNM_API_SECRET", "generate a secret with: openssl rand -base64 32");
  return { apiKey, apiSecret };
}

/**
 * The rules every configured key pair follows (checkApiKeyPairs: a secret of
 * at least 32 bytes, never upstream's published sample), broken ones
 * reported as a ConfigError that names where the pair came from (`source`)
 * and what to do (`remedy`).
 */
export function checkApiCredentials(apiKey: string, apiSecret: string, source: string, remedy: string): void {
  try {
    checkApiKeyPairs([{ key: apiKey, secret: apiSecret }]);
  } catch (cause) {
    if (!(cause instanceof ApiKeyPairsError)) throw cause;
    throw new ConfigError(`${source}: ${cause.message}; ${remedy}`, { cause });
  }
}
