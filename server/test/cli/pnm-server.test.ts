import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localNatsServerBinary, startTestNats, type TestNats } from "../support/harness.js";

// The real command, run as `npm start` runs it but from source; its
// environment holds only what each test sets, so nothing leaks in from ours.
const cli = fileURLToPath(new URL("../../src/cli/pnm-server.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pnm-server-cli-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  /** Set when the command did not exit by itself (the timeout killed it). */
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Starts pnm-server in a fresh data directory and waits for it to exit (a start that succeeds fails the test by timing out). */
async function pnmServer(env: Record<string, string>): Promise<Outcome> {
  const dataDir = await mkdtemp(join(scratch, "data-"));
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--conditions=pnm-source", "--import", "tsx", cli],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH!, PNM_HTTP_PORT: "0", PNM_DATA_DIR: dataDir, ...env },
        timeout: 45_000,
      },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stderr }),
    );
  });
}

/** The one line a failed start prints: the cause and what to do, no stack. */
function expectOneLine(outcome: Outcome, line: string | RegExp): void {
  expect(outcome).toMatchObject({ code: 1, signal: null });
  const lines = outcome.stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  if (typeof line === "string") expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
}

function listenAnywhere(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}
const portOf = (server: Server) => (server.address() as { port: number }).port;

// Each start compiles the server from source: slow on a busy machine, so the limits are generous.
describe("pnm-server start-up failures", { timeout: 60_000 }, () => {
  it("names an invalid setting, the form it takes and the value", async () => {
    expectOneLine(
      await pnmServer({ PNM_TOKEN_VALIDITY: "10" }),
      'pnm-server: PNM_TOKEN_VALIDITY: expected a duration such as 90s, 10m or 1h, got "10"',
    );
  });

  it("says when the HTTP port is taken, and which setting moves it", async () => {
    const holder = await listenAnywhere();
    try {
      const port = portOf(holder);
      const outcome = await pnmServer({ PNM_HTTP_PORT: String(port), PNM_NATS_SERVER_BIN: localNatsServerBinary() });
      expectOneLine(
        outcome,
        `pnm-server: port ${port} on 127.0.0.1 is in use: stop what listens there, or set PNM_HTTP_PORT to a free port`,
      );
    } finally {
      holder.close();
    }
  });

  it("says when NATS cannot be reached", async () => {
    const closed = await listenAnywhere();
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    expectOneLine(
      await pnmServer({ PNM_NATS_URL: `nats://127.0.0.1:${port}` }),
      `pnm-server: cannot connect to NATS at nats://127.0.0.1:${port} (connection refused): check that NATS is running there and that PNM_NATS_URL is right, or unset PNM_NATS_URL to run an embedded nats-server`,
    );
  });

  describe("with a NATS of its own", () => {
    let nats: TestNats;
    beforeAll(async () => {
      nats = await startTestNats();
    });
    afterAll(async () => {
      await nats.stop();
    });

    it("says when that NATS refuses the keys file's keys", async () => {
      // A missing keys file gets fresh keys, which this nats-server was not configured with.
      const keysFile = join(scratch, "other-deployment-keys.json");
      expectOneLine(
        await pnmServer({ PNM_NATS_URL: nats.server.url, PNM_NATS_KEYS_FILE: keysFile }),
        `pnm-server: NATS at ${nats.server.url} refused pnm's server user: the keys in ${keysFile} are not the ones that nats-server was configured with; set PNM_NATS_KEYS_FILE to that deployment's keys file, or write its nats-server.conf anew with pnm-server-keys`,
      );
    });
  });

  it("says when the keys file is not a keys file", async () => {
    const keysFile = join(scratch, "not-keys.json");
    await writeFile(keysFile, "not json", { mode: 0o600 });
    expectOneLine(
      await pnmServer({ PNM_NATS_KEYS_FILE: keysFile }),
      `pnm-server: PNM_NATS_KEYS_FILE: nats keys at ${keysFile} are not JSON; point PNM_NATS_KEYS_FILE at this deployment's keys (pnm-server-keys --out DIR writes them), or remove the file to have new ones generated`,
    );
  });

  it("says how to get a nats-server when there is none", async () => {
    expectOneLine(
      await pnmServer({ PATH: join(scratch, "empty-path") }),
      /^pnm-server: no nats-server found: install nats-server >= 2\.10 .*PNM_NATS_SERVER_BIN.*PNM_NATS_URL/,
    );
    const missing = join(scratch, "no-such-nats-server");
    expectOneLine(
      await pnmServer({ PNM_NATS_SERVER_BIN: missing }),
      `pnm-server: PNM_NATS_SERVER_BIN is ${missing}, which is not an executable file: point it at nats-server >= 2.10, unset it to use the one on PATH, or set PNM_NATS_URL to use a running NATS`,
    );
  });
});
