import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localNatsServerBinary } from "../support/harness.js";

// SIGTERM to the real command, run from source as the CLI tests run it, and to `npm start`.
const cli = fileURLToPath(new URL("../../src/cli/pnm-server.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const apiKey = "shutdown-key";
const apiSecret = "shutdown-secret-0123456789abcdef0123456789abcdef";
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pnm-shutdown-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function launch(command: string, args: string[], env: Record<string, string>): Promise<Running> {
  const dataDir = await mkdtemp(join(scratch, "data-"));
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? scratch,
      PNM_HTTP_PORT: "0",
      PNM_DATA_DIR: dataDir,
      PNM_API_KEY: apiKey,
      PNM_API_SECRET: apiSecret,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const listeners = new Set<() => void>();
  const take = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const each of listeners) each();
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const found = pattern.exec(output);
        if (!found) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no ${pattern} in:\n${output}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { child, output: () => output, waitFor, exit };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every process below `pid`, read from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("shutdown on SIGTERM", { timeout: 90_000 }, () => {
  it("finishes the request in flight, refuses new connections and exits 0", async () => {
    const pnm = await launch(process.execPath, ["--conditions=pnm-source", "--import", "tsx", cli], {
      PNM_NATS_SERVER_BIN: localNatsServerBinary(),
      PNM_SHUTDOWN_GRACE: "10s",
    });
    const url = new URL((await pnm.waitFor(/pnm listening on (http:\/\/[\d.]+:\d+)/))[1]!);
    const natsPid = Number((await pnm.waitFor(/embedded nats-server \(pid (\d+)\)/))[1]);

    // A signed request whose body arrives in two parts, the second after SIGTERM.
    const body = Buffer.from(JSON.stringify({ room_id: "slow-room" }));
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(url, {
        method: "POST",
        path: "/auth/room/isRoomActive",
        headers: {
          "content-type": "application/json",
          "content-length": String(body.length),
          "API-KEY": apiKey,
          "HASH-SIGNATURE": createHmac("sha256", apiSecret).update(body).digest("hex"),
        },
      });
      req.on("error", reject);
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, text }));
      });
      req.write(body.subarray(0, 5));
      (async () => {
        await delay(300); // the server has the request's headers
        pnm.child.kill("SIGTERM");
        await pnm.waitFor(/stopped accepting connections/, 10_000);
        await delay(500);
        req.end(body.subarray(5));
      })().catch(reject);
    });

    await pnm.waitFor(/stopped accepting connections/, 10_000);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    expect(refused).toBe("ECONNREFUSED");

    const done = await answer;
    expect(done.status).toBe(200);
    expect(JSON.parse(done.text)).toMatchObject({ status: true, is_active: false });
    expect(await pnm.exit).toEqual({ code: 0, signal: null });
    for (const step of [
      /stopped taking auth-callout requests/,
      /every request in flight has finished/,
      /closing the NATS connections/,
      /stopping the embedded nats-server/,
      /shutdown: done/,
    ])
      expect(pnm.output()).toMatch(step);
    expect(alive(natsPid)).toBe(false);
  });

  it("leaves no process behind when `npm start` gets SIGTERM", async () => {
    const npm = await launch("npm", ["start"], {});
    await npm.waitFor(/pnm listening on/, 120_000);
    const tree = await descendants(npm.child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(2); // the server and its nats-server, at least
    npm.child.kill("SIGTERM");
    const exit = await npm.exit;
    expect(exit.signal === "SIGTERM" || exit.code === 0 || exit.code === 143, JSON.stringify(exit)).toBe(true);
    await delay(500);
    expect(tree.filter(alive)).toEqual([]);
    expect(npm.output()).toMatch(/shutdown: done/);
  });
});
