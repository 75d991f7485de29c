import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDuration } from "./duration.js";
import { defaultConnectionLimits } from "./http/connection-limits.js";

/** The server's settings; `loadConfig` reads them from the `PNM_*` environment variables. */
export interface PnmConfig {
  host: string;
  httpPort: number;
  apiKey: string;
  apiSecret: string;
  /** Unset: the server spawns its own nats-server. */
  natsUrl?: string;
  /** Handed to participants by VerifyToken; defaults to the embedded server's. */
  natsWsUrls: string[];
  tokenValidityMs: number;
  dataDir: string;
  /** The NATS keys file (created when missing); default nats-keys.json in dataDir. */
  natsKeysFile?: string;
  /** Largest request body accepted on any route, in bytes. */
  maxBodyBytes: number;
  /** How long a disconnected participant keeps its seat for a reconnect. */
  offlineAfterMs: number;
  /** How long after expiry a token may still be renewed over NATS. */
  renewalGraceMs: number;
  /** Browser origins allowed to call participant routes (CORS). */
  corsOrigins: string[];
  /** LiveKit for media; unset means media requests are refused. */
  livekit?: { url: string; apiKey: string; apiSecret: string };
  /** Where the dev credentials came from, when they were generated. */
  devCredentialsFile?: string;
  /** Slow-client limits of the HTTP port (see ConnectionLimits); unset ones take its defaults. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  firstBytesTimeoutMs?: number;
  maxConnections?: number;
  maxConnectionsPerClient?: number;
}

// The public sample credentials of upstream's config_sample.yaml: a server
// running with them is open to anyone who has read that file.
const knownSampleSecrets = new Set(["zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6"]);

/** A setting is missing or invalid; the message names it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Reads the configuration from the environment (README.md, "Configuration").
 * Without PNM_API_KEY and PNM_API_SECRET it generates dev credentials into
 * the data directory, or reuses those it generated before.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PnmConfig {
  const dataDir = resolve(env.PNM_DATA_DIR ?? ".pnm");
  const port = Number(env.PNM_HTTP_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PNM_HTTP_PORT must be a port number, got "${env.PNM_HTTP_PORT}"`);
  }
  const tokenValidityMs = parseDuration(env.PNM_TOKEN_VALIDITY ?? "10m");
  if (tokenValidityMs < 60_000 || tokenValidityMs > 24 * 3_600_000) {
    throw new ConfigError("PNM_TOKEN_VALIDITY must be between 1m and 24h");
  }
  const maxBodyBytes = Number(env.PNM_MAX_BODY_BYTES ?? 64 * 1024);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    throw new ConfigError("PNM_MAX_BODY_BYTES must be an integer of at least 1024");
  }

  const headersTimeoutMs = timeLimit(env, "PNM_HEADERS_TIMEOUT", defaultConnectionLimits.headersTimeoutMs);
  const requestTimeoutMs = timeLimit(env, "PNM_REQUEST_TIMEOUT", defaultConnectionLimits.requestTimeoutMs);
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError("PNM_HEADERS_TIMEOUT must not exceed PNM_REQUEST_TIMEOUT");
  const maxConnections = Number(env.PNM_MAX_CONNECTIONS ?? defaultConnectionLimits.maxConnections);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new ConfigError(`PNM_MAX_CONNECTIONS must be a positive integer, got "${env.PNM_MAX_CONNECTIONS}"`);
  }
  const maxConnectionsPerClient = Number(env.PNM_MAX_CONNECTIONS_PER_CLIENT ?? defaultConnectionLimits.maxConnectionsPerClient);
  if (!Number.isInteger(maxConnectionsPerClient) || maxConnectionsPerClient < 0) {
    throw new ConfigError(`PNM_MAX_CONNECTIONS_PER_CLIENT must be an integer, 0 for no cap, got "${env.PNM_MAX_CONNECTIONS_PER_CLIENT}"`);
  }

  const offlineAfterMs = parseDuration(env.PNM_OFFLINE_AFTER ?? "5s");
  const renewalGraceMs = parseDuration(env.PNM_RENEWAL_GRACE ?? "60s");
  if (renewalGraceMs > 10 * 60_000) throw new ConfigError("PNM_RENEWAL_GRACE must be at most 10m");

  const livekitValues = [env.PNM_LIVEKIT_URL, env.PNM_LIVEKIT_API_KEY, env.PNM_LIVEKIT_API_SECRET];
  if (livekitValues.some(Boolean) && !livekitValues.every(Boolean)) {
    throw new ConfigError("set all of PNM_LIVEKIT_URL, PNM_LIVEKIT_API_KEY and PNM_LIVEKIT_API_SECRET, or none");
  }
  const livekit = env.PNM_LIVEKIT_URL ? { url: env.PNM_LIVEKIT_URL, apiKey: env.PNM_LIVEKIT_API_KEY!, apiSecret: env.PNM_LIVEKIT_API_SECRET! } : undefined;

  let apiKey = env.PNM_API_KEY ?? "";
  let apiSecret = env.PNM_API_SECRET ?? "";
  let devCredentialsFile: string | undefined;
  if (!apiKey && !apiSecret) {
    devCredentialsFile = join(dataDir, "dev-credentials.json");
    ({ apiKey, apiSecret } = loadOrCreateDevCredentials(devCredentialsFile));
  } else if (!apiKey || !apiSecret) {
    throw new ConfigError("set both PNM_API_KEY and PNM_API_SECRET, or neither to use generated dev credentials");
  }
  if (knownSampleSecrets.has(apiSecret)) {
    throw new ConfigError("PNM_API_SECRET is a published sample secret; generate your own");
  }
  if (Buffer.byteLength(apiSecret) < 32) {
    throw new ConfigError("PNM_API_SECRET must be at least 32 bytes long");
  }

  return {
    host: env.PNM_HOST ?? "127.0.0.1",
    httpPort: port,
    apiKey,
    apiSecret,
    natsUrl: env.PNM_NATS_URL || undefined,
    natsWsUrls: list(env.PNM_NATS_WS_URLS),
    corsOrigins: list(env.PNM_CORS_ORIGINS),
    tokenValidityMs,
    dataDir,
    natsKeysFile: env.PNM_NATS_KEYS_FILE || undefined,
    maxBodyBytes,
    offlineAfterMs,
    renewalGraceMs,
    livekit,
    devCredentialsFile,
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: timeLimit(env, "PNM_IDLE_TIMEOUT", defaultConnectionLimits.idleTimeoutMs),
    firstBytesTimeoutMs: timeLimit(env, "PNM_FIRST_BYTES_TIMEOUT", defaultConnectionLimits.firstBytesTimeoutMs),
    maxConnections,
    maxConnectionsPerClient,
  };
}

/** A duration setting from 1ms to a day: longer is no limit at all, and past 24.8 days Node's timers fire at once. */
function timeLimit(env: NodeJS.ProcessEnv, name: string, defaultMs: number): number {
  const text = env[name];
  if (text === undefined) return defaultMs;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
  if (ms < 1 || ms > 24 * 3_600_000) throw new ConfigError(`${name} must be between 1ms and 24h, got "${text}"`);
  return Math.round(ms);
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);
}

function loadOrCreateDevCredentials(file: string): { apiKey: string; apiSecret: string } {
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { apiKey?: string; apiSecret?: string };
    if (saved.apiKey && saved.apiSecret) return { apiKey: saved.apiKey, apiSecret: saved.apiSecret };
  }
  const credentials = {
    apiKey: `pnm-dev-${randomBytes(6).toString("hex")}`,
    apiSecret: randomBytes(32).toString("base64url"),
  };
  mkdirSync(resolve(file, ".."), { recursive: true });
  writeFileSync(file, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return credentials;
}
