import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { accessSync, constants, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve as resolvePath } from "node:path";
import { type NatsAccountLimits, renderNatsServerConfig } from "./nats-config.js";
import type { NatsPublicKeys } from "./nats-keys.js";

export interface SpawnNatsServerOptions {
  keys: NatsPublicKeys;
  /** The nats-server binary (resolveNatsServerBinary finds one). */
  binary: string;
  /**
   * Directory for the config, ports file and JetStream store, kept after stop() so
   * streams survive restarts; one server per directory. Default: a fresh unique
   * directory under the OS temp directory, removed by stop().
   */
  dataDir?: string;
  host?: string;
  /** Client port; default: one the server picks. */
  port?: number;
  /** WebSocket port; default: one the server picks. */
  websocketPort?: number;
  /** Monitoring port; default: none. */
  httpPort?: number;
  serverName?: string;
  authTimeoutSeconds?: number;
  /** Per-connection limits in PNM; default `defaultNatsAccountLimits`. */
  accountLimits?: NatsAccountLimits;
  /**
   * Changes the rendered configuration before the server reads it: for what
   * only a benchmark or a test may add (bench/anonymous-nats-user.ts).
   */
  editConfig?: (config: string) => string;
  startTimeoutMs?: number;
  /** Hears each line of the server's log, with its level (`[INF]` is info, `[WRN]` warn, …) and without pid, time and level tag. */
  onLog?: (level: NatsServerLogLevel, message: string) => void;
}

export interface EmbeddedNatsServer {
  /** nats://host:port of the client listener. */
  url: string;
  /** ws://host:port of the WebSocket listener. */
  wsUrl: string;
  /** http://host:port of the monitoring listener, when one was asked for. */
  httpUrl?: string;
  serverName: string;
  config: string;
  dataDir: string;
  pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), then remove the data directory if it was a temporary one. */
  stop(): Promise<void>;
  /** Resolves when the process has exited, stopped or not (a supervisor's cue: supervised-nats.ts). */
  readonly exited: Promise<void>;
}

/** nats-server exited or did not answer in time during start; the message carries its last log lines. */
export class NatsServerStartError extends Error {
  override readonly name = "NatsServerStartError";
}

/** No nats-server to run: the message says how to get one. */
export class NatsServerNotFoundError extends Error {
  override readonly name = "NatsServerNotFoundError";
}

/**
 * The nats-server to run: `configured` (pnm-server's PNM_NATS_SERVER_BIN)
 * when given, else the first `nats-server` on `searchPath` (default: PATH).
 * (In a checkout, scripts/bootstrap.sh sets PNM_NATS_SERVER_BIN to one it
 * installs when PATH has none new enough.)
 */
export function resolveNatsServerBinary(configured?: string, searchPath = process.env.PATH ?? ""): string {
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new NatsServerNotFoundError(
      `PNM_NATS_SERVER_BIN is ${configured}, which is not an executable file: point it at nats-server >= 2.10, unset it to use the one on PATH, or set PNM_NATS_URL to use a running NATS`,
    );
  }
  const found = searchPath
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, "nats-server"))
    .find(isExecutable);
  if (found) return found;
  throw new NatsServerNotFoundError(
    "no nats-server found: install nats-server >= 2.10 (https://github.com/nats-io/nats-server/releases) on PATH, set PNM_NATS_SERVER_BIN to its path, or set PNM_NATS_URL to use a running NATS",
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

// Servers a test forgot to stop would outlive the worker and hold ports; kill
// whatever is still running when this process exits.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const each of running) each.kill("SIGKILL");
    });
  }
  running.add(child);
  child.once("exit", () => running.delete(child));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ListenerPorts {
  nats: string[];
  websocket?: string[];
  monitoring?: string[];
}

async function readPortsFile(dir: string, pid: number): Promise<ListenerPorts | undefined> {
  const name = (await readdir(dir)).find((entry) => entry.endsWith(`_${pid}.ports`));
  if (!name) return undefined;
  try {
    return JSON.parse(await readFile(join(dir, name), "utf8")) as ListenerPorts;
  } catch {
    return undefined; // still being written
  }
}

/** The levels of nats-server's log lines, named as pnm's logger names them. */
export type NatsServerLogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

const natsServerLevels: Record<string, NatsServerLogLevel> = {
  TRC: "trace",
  DBG: "debug",
  INF: "info",
  WRN: "warn",
  ERR: "error",
  FTL: "fatal",
};

/** A nats-server log line (`[pid] 2024/01/02 15:04:05.000000 [INF] text`) as its level and text; an unknown form is info, whole. */
export function natsServerLogLine(line: string): [NatsServerLogLevel, string] {
  const match = /^(?:\[\d+\]\s+)?(?:\S+\s+\S+\s+)?\[(TRC|DBG|INF|WRN|ERR|FTL)\]\s?(.*)$/.exec(line);
  return match ? [natsServerLevels[match[1]!]!, match[2]!] : ["info", line];
}

/** Resolves once a connection to url gets the INFO of the server named serverName. */
function probeInfo(url: string, serverName: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connectTcp({ host: hostname.replace(/^\[|\]$/g, ""), port: Number(port) });
    let received = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      const end = received.indexOf("\r\n");
      if (end < 0) return;
      try {
        const info = JSON.parse(received.slice(0, end).replace(/^INFO\s+/, "")) as { server_name?: string };
        finish(info.server_name === serverName);
      } catch {
        finish(false);
      }
    });
  });
}

/**
 * Starts a nats-server with the pnm configuration and waits until its client
 * listener answers. Ports default to ones the server picks itself and reports in
 * its ports file, so parallel callers never race for a port.
 */
export async function spawnNatsServer(options: SpawnNatsServerOptions): Promise<EmbeddedNatsServer> {
  const { binary } = options;
  const temporary = options.dataDir === undefined;
  const dataDir =
    options.dataDir === undefined ? await mkdtemp(join(tmpdir(), "pnm-nats-")) : resolvePath(options.dataDir);
  const removeTemporary = () => (temporary ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  const serverName = options.serverName ?? `pnm-${randomUUID().slice(0, 8)}`;
  const configPath = join(dataDir, "nats-server.conf");
  let config: string;
  try {
    config = renderNatsServerConfig({
      keys: options.keys,
      serverName,
      host: options.host,
      port: options.port ?? -1,
      websocketPort: options.websocketPort ?? -1,
      httpPort: options.httpPort,
      storeDir: dataDir,
      portsFileDir: dataDir,
      authTimeoutSeconds: options.authTimeoutSeconds,
      accountLimits: options.accountLimits,
    });
    if (options.editConfig) config = options.editConfig(config);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // A ports file left by a crashed run must not be mistaken for this server's.
    for (const entry of await readdir(dataDir))
      if (entry.endsWith(".ports")) await rm(join(dataDir, entry), { force: true });
    await writeFile(configPath, config, { mode: 0o600 });
  } catch (error) {
    await removeTemporary();
    throw error;
  }

  const child = spawn(binary, ["-c", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  track(child);
  // Always drained: a full stderr pipe would block the server's logger.
  const logTail: string[] = [];
  let partial = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    logTail.push(...chunk.split("\n").filter(Boolean));
    logTail.splice(0, Math.max(0, logTail.length - 20));
    if (!options.onLog) return;
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!.slice(-64 * 1024);
    for (const line of lines) if (line) options.onLog(...natsServerLogLine(line));
  });
  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      spawnError = error;
      exited = true;
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exit;
        clearTimeout(timer);
      }
      await removeTemporary();
    })());

  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  try {
    if (child.pid === undefined) await exit; // spawn failed; its error arrives asynchronously
    while (true) {
      if (exited || child.pid === undefined) {
        throw new NatsServerStartError(`nats-server exited during start: ${logTail.join(" | ")}`, {
          cause: spawnError,
        });
      }
      if (Date.now() > deadline)
        throw new NatsServerStartError(`nats-server did not start in time: ${logTail.join(" | ")}`);
      const ports = await readPortsFile(dataDir, child.pid);
      const url = ports?.nats[0];
      const wsUrl = ports?.websocket?.[0];
      if (url && wsUrl && (await probeInfo(url, serverName))) {
        return {
          url,
          wsUrl,
          httpUrl: ports.monitoring?.[0],
          serverName,
          config,
          dataDir,
          pid: child.pid,
          stop,
          exited: exit,
        };
      }
      await delay(25);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
