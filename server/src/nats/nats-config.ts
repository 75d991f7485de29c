import type { NatsPublicKeys } from "./nats-keys.js";

/** The account every callout-admitted client and the pnm server live in (upstream's `nats_info.account`). */
export const pnmAccount = "PNM";
export const systemAccount = "SYS";

/**
 * What the system user may do: kick connections and find them, ask whether a
 * server is still there (its IDZ), and hear PNM's connection events. Anything else in $SYS (reload, account claims) stays out of
 * reach of a leaked system-user seed.
 */
export const systemUserPermissions = {
  publish: [`$SYS.REQ.SERVER.*.KICK`, `$SYS.REQ.SERVER.*.IDZ`, `$SYS.REQ.ACCOUNT.${pnmAccount}.CONNZ`],
  subscribe: [`$SYS.ACCOUNT.${pnmAccount}.>`, "_INBOX.>"],
} as const;

export interface NatsServerConfigOptions {
  keys: NatsPublicKeys;
  serverName: string;
  /** Interface for the client, WebSocket and monitoring listeners; default 127.0.0.1. */
  host?: string;
  /** Client port; -1 lets the server pick one (read it from the ports file). */
  port: number;
  websocketPort: number;
  /** Monitoring port (/healthz, /connz); omitted means no monitoring listener. */
  httpPort?: number;
  /** JetStream storage; the server adds a `jetstream` directory inside. */
  storeDir: string;
  /** Where the server writes `<binary>_<pid>.ports`, the listeners it bound. */
  portsFileDir?: string;
  /** Seconds a client has to authenticate, the callout round trip included; default 5 as upstream. */
  authTimeoutSeconds?: number;
  /** Per-connection limits of every client in PNM; default `defaultNatsAccountLimits`. */
  accountLimits?: NatsAccountLimits;
  /** Makes this server a node of a cluster; omitted: a single server. */
  cluster?: NatsClusterOptions;
}

/**
 * A node's cluster listener and its routes to the other nodes. The routes
 * carry no authentication: meant for nodes on one host or a private network.
 */
export interface NatsClusterOptions {
  /** The cluster's name, the same on every node. */
  name: string;
  /** The port other nodes connect to (routes). */
  port: number;
  /** Every node's route URL (`nats-route://host:port`); a node skips its own. */
  routes: readonly string[];
}

/**
 * Limits nats-server enforces on each connection in the PNM account. They sit
 * on the account because nats-server (2.10) ignores the `subs` and `payload`
 * limits of a user JWT issued by an auth callout; account limits apply to
 * callout users. They bind pnm's own connections as well, which hold fewer
 * than 10 subscriptions and publish at most a user's seat record (about
 * 200 bytes, whatever the room's size) and the callout's answers (about 2 KiB).
 */
export interface NatsAccountLimits {
  /** Subscriptions one connection may hold; nats-server refuses more with `-ERR 'maximum subscriptions exceeded'`. */
  maxSubscriptions: number;
  /** Largest message one connection may publish, in bytes; nats-server closes a connection that sends a larger one. */
  maxPayload: number;
}

/** pnm's defaults: a session needs about 10 subscriptions; 1 MiB is nats-server's own payload default. */
export const defaultNatsAccountLimits: Readonly<NatsAccountLimits> = { maxSubscriptions: 64, maxPayload: 1024 * 1024 };

/** The values pnm accepts: payloads up to nats-server's recommended 8 MiB. */
export const natsAccountLimitRanges = {
  maxSubscriptions: { min: 16, max: 1_000_000 },
  maxPayload: { min: 64 * 1024, max: 8 * 1024 * 1024 },
} as const;

export class NatsConfigError extends Error {
  override readonly name = "NatsConfigError";
}

const serverNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
const hostPattern = /^[A-Za-z0-9.:_-]+$/;

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < -1 || port > 65535) throw new NatsConfigError(`${name} must be -1 or 0-65535`);
  return port;
}

function checkKey(name: string, key: string, kind: string): string {
  if (!new RegExp(`^${kind}[A-Z2-7]{55}$`).test(key))
    throw new NatsConfigError(`${name} must be a public ${kind} nkey`);
  return key;
}

// Once control characters and lone surrogates are refused, JSON.stringify escapes
// only `"` and `\`, which the nats-server config lexer reads back the same way.
function quote(name: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: they are refused.
  if (/[\u0000-\u001f]|\p{Cs}/u.test(value))
    throw new NatsConfigError(`${name} contains control characters or lone surrogates`);
  return JSON.stringify(value);
}

const list = (values: readonly string[]) => `[${values.map((value) => JSON.stringify(value)).join(", ")}]`;

/** Renders a nats-server (≥ 2.10) configuration: accounts SYS and PNM, JetStream, WebSocket and the auth callout. */
export function renderNatsServerConfig(options: NatsServerConfigOptions): string {
  if (!serverNamePattern.test(options.serverName))
    throw new NatsConfigError("serverName must be 1-64 of [A-Za-z0-9_-]");
  const host = options.host ?? "127.0.0.1";
  if (!hostPattern.test(host)) throw new NatsConfigError("host must be a hostname or IP address");
  const authTimeout = options.authTimeoutSeconds ?? 5;
  if (!(authTimeout > 0 && authTimeout <= 60)) throw new NatsConfigError("authTimeoutSeconds must be in (0, 60]");
  const issuer = checkKey("issuer key", options.keys.issuer.publicKey, "A");
  const xkey = checkKey("xkey", options.keys.xkey.publicKey, "X");
  const serverUser = checkKey("server user key", options.keys.serverUser.publicKey, "U");
  const systemUser = checkKey("system user key", options.keys.systemUser.publicKey, "U");
  if (serverUser === systemUser) throw new NatsConfigError("server and system users need distinct keys");
  const limits = options.accountLimits ?? defaultNatsAccountLimits;
  for (const name of ["maxSubscriptions", "maxPayload"] as const) {
    const { min, max } = natsAccountLimitRanges[name];
    if (!Number.isSafeInteger(limits[name]) || limits[name] < min || limits[name] > max)
      throw new NatsConfigError(`${name} must be a whole number from ${min} to ${max}`);
  }

  const cluster = options.cluster;
  if (cluster && !serverNamePattern.test(cluster.name))
    throw new NatsConfigError("cluster name must be 1-64 of [A-Za-z0-9_-]");
  const clusterLines = cluster
    ? [
        "",
        "# Routes without authentication: for nodes on one host or a private network only.",
        "cluster {",
        `  name: ${cluster.name}`,
        `  host: ${quote("host", host)}`,
        `  port: ${checkPort("clusterPort", cluster.port)}`,
        `  routes: ${list(cluster.routes.map((route) => quote("route", route).slice(1, -1)))}`,
        "}",
      ]
    : [];
  const lines = [
    "# Generated by pnm (server/src/nats/nats-config.ts). Holds public keys only.",
    `server_name: ${options.serverName}`,
    // Separate host and port keys: the "host:port" forms cannot carry IPv6 hosts.
    `host: ${quote("host", host)}`,
    `port: ${checkPort("port", options.port)}`,
    // Monitoring binds to `host` as well when no http host is given.
    ...(options.httpPort === undefined ? [] : [`http_port: ${checkPort("httpPort", options.httpPort)}`]),
    ...(options.portsFileDir === undefined ? [] : [`ports_file_dir: ${quote("portsFileDir", options.portsFileDir)}`]),
    // The server-wide ceiling (default 1 MiB) caps the account's limit, so both are set.
    `max_payload: ${limits.maxPayload}`,
    ...clusterLines,
    "",
    "jetstream {",
    `  store_dir: ${quote("storeDir", options.storeDir)}`,
    "}",
    "",
    "# Plain ws:// because this listener is meant for loopback development or for a",
    "# TLS-terminating proxy on the same host; never expose it directly.",
    "websocket {",
    `  host: ${quote("host", host)}`,
    `  port: ${checkPort("websocketPort", options.websocketPort)}`,
    "  no_tls: true",
    "}",
    "",
    `system_account: ${systemAccount}`,
    "accounts {",
    `  ${systemAccount} {`,
    "    users: [",
    `      { nkey: ${quote("key", systemUser)}, permissions: {`,
    `          publish: { allow: ${list(systemUserPermissions.publish)} }`,
    `          subscribe: { allow: ${list(systemUserPermissions.subscribe)} } } }`,
    "    ]",
    "  }",
    `  ${pnmAccount} {`,
    "    jetstream: enabled",
    `    users: [ { nkey: ${quote("key", serverUser)} } ]`,
    "    # Per connection, callout users included (nats-server ignores a callout user JWT's own limits).",
    `    limits: { max_subscriptions: ${limits.maxSubscriptions}, max_payload: ${limits.maxPayload} }`,
    "  }",
    "}",
    "",
    "# Every connection except auth_users goes to the callout service, which listens",
    `# in ${pnmAccount} and issues users for ${pnmAccount}. Requests are sealed to the xkey.`,
    "authorization {",
    `  timeout: ${authTimeout}`,
    "  auth_callout {",
    `    issuer: ${quote("issuer", issuer)}`,
    `    account: ${pnmAccount}`,
    `    auth_users: ${list([serverUser, systemUser])}`,
    `    xkey: ${quote("xkey", xkey)}`,
    "  }",
    "}",
    "",
  ];
  return lines.join("\n");
}
