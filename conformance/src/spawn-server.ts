import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerStartError } from "./errors.js";
import type { ServerTarget } from "./run/runner.js";

/** How to start the server under test. */
export interface SpawnOptions {
  /** Shell command that starts the server; it reads its settings from the environment (README.md, "--spawn"). */
  command: string;
  /** Give the server generated LiveKit credentials (PNM_LIVEKIT_URL, _API_KEY, _API_SECRET); default true. */
  liveKit?: boolean;
}

/** A running spawned server: the target to run against, and how to stop it. */
export interface SpawnedServer extends ServerTarget {
  /** Stops the server's whole process group and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Where the spawned server sends participants for media. Nothing listens there:
 * the harness checks the tokens the server issues, not a media connection.
 */
export const spawnedLiveKitUrl = "ws://127.0.0.1:7880";

const outputLimit = 64 * 1024;
// A first start may install nats-server.
const readyTimeoutMs = 60_000;

/**
 * Starts the server under test on a free port with fresh credentials and a
 * fresh data directory, and waits until `GET /healthz` answers 200. The
 * command runs in its own process group, so stopping it also stops whatever
 * it started (a wrapper script, an embedded nats-server).
 */
export async function spawnServer(options: SpawnOptions): Promise<SpawnedServer> {
  const port = await freePort();
  const apiKey = `pnm-conformance-${randomBytes(4).toString("hex")}`;
  const apiSecret = randomBytes(32).toString("hex");
  const dataDir = mkdtempSync(join(tmpdir(), "pnm-conformance-"));
  const baseUrl = `http://127.0.0.1:${port}`;
  const liveKit =
    options.liveKit === false
      ? undefined
      : {
          apiKey: `lk-conformance-${randomBytes(4).toString("hex")}`,
          apiSecret: randomBytes(32).toString("hex"),
        };
  const child = spawn("/bin/sh", ["-c", options.command], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PNM_HOST: "127.0.0.1",
      PNM_HTTP_PORT: String(port),
      PNM_API_KEY: apiKey,
      PNM_API_SECRET: apiSecret,
      PNM_DATA_DIR: dataDir,
      ...(liveKit
        ? {
            PNM_LIVEKIT_URL: spawnedLiveKitUrl,
            PNM_LIVEKIT_API_KEY: liveKit.apiKey,
            PNM_LIVEKIT_API_SECRET: liveKit.apiSecret,
          }
        : { PNM_LIVEKIT_URL: "", PNM_LIVEKIT_API_KEY: "", PNM_LIVEKIT_API_SECRET: "" }),
    },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-outputLimit);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const stop = async () => {
    await terminate(child, exited);
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
  };
  try {
    await waitUntilReady(baseUrl, exited, readyTimeoutMs);
  } catch (err) {
    await stop();
    throw new ServerStartError(`${(err as Error).message}\n--- server output ---\n${output}`, output, { cause: err });
  }
  return { baseUrl, apiKey, apiSecret, liveKit: liveKit ?? "absent", stop };
}

async function waitUntilReady(baseUrl: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`the server exited with status ${gone} before it was ready`);
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${baseUrl}/healthz did not answer 200 within ${timeoutMs} ms`);
}

/**
 * Stops the whole process group: the command may exit before what it started
 * (an embedded nats-server still flushing its store), so this waits until no
 * process of the group is left.
 */
async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.pid === undefined) return;
  const group = -child.pid;
  const signal = (name: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(group, name);
      return true;
    } catch {
      return false; // no process of the group is left
    }
  };
  if (!signal("SIGTERM")) return;
  const deadline = Date.now() + 10_000;
  while (signal(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (signal("SIGKILL")) while (signal(0)) await new Promise((r) => setTimeout(r, 50));
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
