/**
 * The packages as a consumer gets them. Builds the workspace packages, packs
 * each with npm pack, installs the tarballs into a scratch project in the OS
 * temp directory (a plain npm install: no workspace links, no tsx), and there,
 * with plain node and the installed commands, runs the consumer's programs in
 * scripts/consumer/: every public entry loads; a TypeScript consumer of every
 * entry type-checks (nodenext); pnm-server starts (its own nats-server, a free
 * port, a fresh data directory, generated credentials); the room API answers
 * over Connect and gRPC; two Node participants exchange encrypted chat;
 * pnm-conformance passes against the server; and @pnm/client, bundled for the
 * browser from the installed package, joins from headless Chromium.
 *
 * One line per step, then "N passed, M failed" (scripts/test.sh adds both to
 * its totals); the exit status is 1 when a step failed. A step that needs one
 * that failed fails too, saying so, so the count of steps stays the same.
 * Usage: node --import tsx scripts/consumer-test.ts [--keep]  (--keep: leave the scratch project)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { keep: { type: "boolean", default: false } } });
const root = fileURLToPath(new URL("..", import.meta.url));
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  workspaces: string[];
  devDependencies: Record<string, string>;
};
// The tools the consumer installs next to the tarballs, at the versions this repository pins.
const consumerTools = ["typescript", "@types/node", "esbuild", "playwright-core"];

interface RunResult {
  code: number | null;
  output: string;
}

// Every child runs in a process group of its own (Chromium, nats-server), ended whole on a timeout or an interrupt.
const children = new Set<ChildProcess>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const child of children) killGroup(child, "SIGKILL");
    process.exit(130);
  });
}

/** Runs a command to its end (or kills its process group after timeoutMs); stdout and stderr together. */
function run(
  command: string,
  argv: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.add(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${options.timeoutMs / 1000} s)`;
      killGroup(child, "SIGKILL");
    }, options.timeoutMs);
    child.on("error", (err) => (output += `\n${err.message}`));
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Throws with the command's output unless it exited 0; returns its output. */
async function succeed(result: Promise<RunResult>): Promise<string> {
  const { code, output } = await result;
  if (code !== 0) throw new Error(`exit status ${code}\n${output}`);
  return output;
}

/**
 * The caller's environment without what would change how a consumer's
 * process runs: NODE_OPTIONS (a tsx loader, say), PNM_* settings and the
 * npm_* variables of an enclosing npm run (npm reads npm_config_* as its own).
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== "NODE_OPTIONS" && !name.startsWith("PNM_") && !/^npm_/i.test(name),
    ),
  );
  return { ...env, ...extra };
}

let passed = 0;
let failed = 0;
const lastLine = (text: string) => text.trim().split("\n").at(-1) ?? "";

/**
 * One counted step: ok when `body` resolves, FAIL with its error otherwise.
 * `needs` names steps that must have passed; if one has not, the step fails without running.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a body returns a note or nothing; `undefined` would reject the async bodies that have no return.
async function step(name: string, needs: boolean[], body: () => Promise<string | void>): Promise<boolean> {
  if (needs.some((ok) => !ok)) {
    failed++;
    console.log(`FAIL ${name} (not run: a step it needs failed)`);
    return false;
  }
  const started = performance.now();
  try {
    const note = await body();
    passed++;
    console.log(`ok   ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`);
    return true;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    const text = err instanceof Error ? err.message : String(err);
    console.log(
      text
        .trim()
        .split("\n")
        .slice(-40)
        .map((line) => `     ${line}`)
        .join("\n"),
    );
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForHealth(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`pnm-server exited with status ${server.exitCode}`);
    const status = await fetch(`${url}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`GET ${url}/healthz did not answer 200 within ${timeoutMs / 1000} s`);
}

const scratch = await mkdtemp(join(tmpdir(), "pnm-consumer-"));
const tarballs = join(scratch, "tarballs");
const app = join(scratch, "app");
let pnmServer: ChildProcess | undefined;
let serverLog = "";
let pageServer: Server | undefined;
const started = performance.now();

try {
  // The packages' dist/ as `npm run build` leaves it. Type errors there are the
  // "packages build" check's to count; tsc writes dist/ regardless.
  const build = await run("npm", ["run", "build", "--silent"], { cwd: root, timeoutMs: 600_000 });
  const buildTime = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  if (build.code === 0) console.log(`note: npm run build (${buildTime})`);
  else
    console.log(
      `note: npm run build (${buildTime}) reported errors; packing the dist/ it wrote\n${build.output
        .trim()
        .split("\n")
        .slice(-10)
        .map((l) => `     ${l}`)
        .join("\n")}`,
    );

  const packed = await step(
    "npm pack: one tarball per workspace package, with what its exports and bins name",
    [],
    async () => {
      mkdirSync(tarballs, { recursive: true });
      const output = await succeed(
        run("npm", ["pack", "--workspaces", "--pack-destination", tarballs, "--json"], {
          cwd: root,
          timeoutMs: 120_000,
        }),
      );
      const packs = JSON.parse(output.slice(output.indexOf("["))) as {
        name: string;
        filename: string;
        files: { path: string }[];
      }[];
      const missing: string[] = [];
      for (const dir of rootManifest.workspaces) {
        const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
          name: string;
          exports?: Record<string, unknown>;
          bin?: Record<string, string>;
        };
        const pack = packs.find((p) => p.name === manifest.name);
        if (!pack) {
          missing.push(`${manifest.name}: no tarball`);
          continue;
        }
        const files = new Set(pack.files.map((f) => f.path));
        const targets = [
          ...Object.values(manifest.bin ?? {}),
          ...Object.values(manifest.exports ?? {}).flatMap((e) =>
            typeof e === "string"
              ? [e]
              : Object.entries(e as Record<string, string>)
                  .filter(([c]) => c !== "pnm-source")
                  .map(([, t]) => t),
          ),
        ].map((t) => t.replace(/^\.\//, ""));
        for (const target of targets) {
          const present = target.includes("*")
            ? [...files].some((f) => new RegExp(`^${target.replace(/[.]/g, "\\.").replace("*", ".+")}$`).test(f))
            : files.has(target);
          if (!present) missing.push(`${manifest.name}: ${target}`);
        }
      }
      if (missing.length) throw new Error(`missing from the tarballs:\n${missing.join("\n")}`);
      return packs.map((p) => p.filename).join(", ");
    },
  );

  const installed = await step(
    "npm install of the tarballs into a scratch project outside the workspace",
    [packed],
    async () => {
      mkdirSync(app, { recursive: true });
      cpSync(join(root, "scripts/consumer"), app, { recursive: true });
      const dependencies: Record<string, string> = {};
      for (const dir of rootManifest.workspaces) {
        const { name, version } = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as {
          name: string;
          version: string;
        };
        dependencies[name] = `file:../tarballs/${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
      }
      const devDependencies = Object.fromEntries(
        consumerTools.map((name) => [name, rootManifest.devDependencies[name]!]),
      );
      writeFileSync(
        join(app, "package.json"),
        `${JSON.stringify({ name: "pnm-consumer", private: true, type: "module", dependencies, devDependencies }, null, 2)}\n`,
      );
      await succeed(
        run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app, timeoutMs: 600_000 }),
      );
      for (const name of Object.keys(dependencies)) {
        const dir = join(app, "node_modules", name);
        if (lstatSync(dir).isSymbolicLink() || realpathSync(dir).startsWith(root))
          throw new Error(`${name} is linked to the workspace, not installed`);
      }
    },
  );

  await step(
    "every public entry loads with plain node (@pnm/client, /node, /protocol, /e2ee, @pnm/server, @pnm/protocol)",
    [installed],
    () => succeed(run("node", ["entries.mjs"], { cwd: app, timeoutMs: 60_000 })).then(lastLine),
  );

  await step(
    "tsc --noEmit (module nodenext) over a TypeScript consumer of every public entry",
    [installed],
    async () => {
      await succeed(run(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: app, timeoutMs: 180_000 }));
    },
  );

  // The page's origin, known before the server starts so that the server can allow it (PNM_CORS_ORIGINS).
  const html = `<!doctype html><meta charset="utf-8"><title>pnm consumer</title><script src="/bundle.js"></script>`;
  pageServer = createServer((req, res) => {
    if (req.url === "/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    const bundle = join(app, "page/bundle.js");
    if (req.url === "/bundle.js" && existsSync(bundle))
      return void res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(bundle));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pageServer!.listen(0, "127.0.0.1", resolve));
  const pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;

  const url = `http://127.0.0.1:${await freePort()}`;
  const apiKey = `consumer-${randomBytes(4).toString("hex")}`;
  const apiSecret = randomBytes(32).toString("hex");
  const natsServerBin =
    process.env.PNM_NATS_SERVER_BIN ||
    (await succeed(run("bash", [join(root, "scripts/ensure-nats.sh")], { cwd: root, timeoutMs: 300_000 }))).trim();
  const serving = await step(
    "pnm-server starts from the installed package (its own nats-server, a free port, a fresh data directory)",
    [installed],
    async () => {
      pnmServer = spawn(join(app, "node_modules/.bin/pnm-server"), [], {
        cwd: app,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: cleanEnv({
          PNM_HOST: "127.0.0.1",
          PNM_HTTP_PORT: new URL(url).port,
          PNM_API_KEY: apiKey,
          PNM_API_SECRET: apiSecret,
          PNM_DATA_DIR: join(scratch, "data"),
          PNM_NATS_SERVER_BIN: natsServerBin,
          PNM_CORS_ORIGINS: pageUrl,
        }),
      });
      children.add(pnmServer);
      pnmServer.stdout!.on("data", (d: Buffer) => (serverLog += d));
      pnmServer.stderr!.on("data", (d: Buffer) => (serverLog += d));
      try {
        await waitForHealth(url, pnmServer, 60_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${serverLog}`);
      }
      return url;
    },
  );

  const env = cleanEnv({ PNM_URL: url, PNM_API_KEY: apiKey, PNM_API_SECRET: apiSecret, PAGE_URL: pageUrl });
  const consumer = (script: string, ...argv: string[]) =>
    succeed(run("node", [script, ...argv], { cwd: app, env, timeoutMs: 120_000 })).then(lastLine);

  await step("RoomService over Connect from @pnm/client", [serving], () => consumer("rooms.mjs", "connect"));
  await step("RoomService over gRPC with @pnm/client/node's HTTP/2 client, closed afterwards", [serving], () =>
    consumer("rooms.mjs", "grpc"),
  );
  await step(
    "two Node participants join with joinSession and exchange end-to-end encrypted chat both ways",
    [serving],
    () => consumer("participants.mjs"),
  );

  await step(
    "pnm-conformance from the installed package against the server (auth/ and e2ee/ cases)",
    [serving],
    async () => {
      const output = await succeed(
        run(
          join(app, "node_modules/.bin/pnm-conformance"),
          [
            "--url",
            url,
            "--api-key",
            apiKey,
            "--api-secret",
            apiSecret,
            "--no-livekit",
            "--filter",
            "auth/",
            "--filter",
            "e2ee/",
          ],
          { cwd: app, env, timeoutMs: 300_000 },
        ),
      );
      const tally = lastLine(output);
      const counted = /^(\d+) passed, 0 failed$/.exec(tally);
      if (!counted || Number(counted[1]) === 0)
        throw new Error(`expected "N passed, 0 failed" with N > 0, got:\n${output}`);
      return tally;
    },
  );

  const bundled = await step(
    "@pnm/client bundled for the browser from the installed package (esbuild): no Node built-ins",
    [installed],
    () => consumer("browser.mjs", "bundle"),
  );
  await step(
    "Chromium: the page joins over Connect and exchanges end-to-end encrypted chat with a Node participant",
    [serving, bundled],
    () => consumer("browser.mjs", "session"),
  );
  await step(
    "Chromium: the page calls VerifyToken over gRPC-web and reads a refusal's reason",
    [serving, bundled],
    () => consumer("browser.mjs", "grpc-web"),
  );

  await step("pnm-server exits 0 on SIGTERM and leaves no nats-server behind", [serving], async () => {
    const server = pnmServer!;
    const exited = new Promise<number | null>((resolve) =>
      server.exitCode !== null ? resolve(server.exitCode) : server.on("exit", (code) => resolve(code)),
    );
    server.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 20_000).unref()),
    ]);
    if (code !== 0)
      throw new Error(
        `pnm-server: ${code === "timeout" ? "still running 20 s after SIGTERM" : `exit status ${code}`}\n${serverLog}`,
      );
    // The nats-server it spawned shares its process group; signal 0 only asks whether any member is left.
    await new Promise((resolve) => setTimeout(resolve, 200));
    let left = true;
    try {
      process.kill(-server.pid!, 0);
    } catch {
      left = false;
    }
    if (left) throw new Error("a process of pnm-server's group (its nats-server) is still running");
  });
} finally {
  // Whatever of pnm-server's process group still runs (the server, its nats-server).
  if (pnmServer) killGroup(pnmServer, "SIGKILL");
  pageServer?.close();
  if (args.keep) console.log(`note: the scratch project is kept in ${scratch}`);
  else await rm(scratch, { recursive: true, force: true });
}

console.log(`consumer test: ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
