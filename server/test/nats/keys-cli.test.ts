import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadNatsKeys } from "../../src/nats/nats-keys.js";
import { localNatsServerBinary } from "../support/harness.js";

const run = promisify(execFile);
const cli = fileURLToPath(new URL("../../src/cli/keys.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pnm-keys-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function keysCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", cli, ...args], { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("keys CLI", () => {
  it("writes keys (0600) and a config the real nats-server accepts, printing no seed", async () => {
    const out = join(dir, "first");
    const result = await keysCli("--out", out);
    expect(result.code).toBe(0);
    const keys = await loadNatsKeys(join(out, "nats-keys.json"));
    expect((await stat(join(out, "nats-keys.json"))).mode & 0o777).toBe(0o600);
    expect(result.stdout).toContain(join(out, "nats-keys.json"));
    expect(result.stdout).toContain(join(out, "nats-server.conf"));
    for (const entry of Object.values(keys)) expect(result.stdout + result.stderr).not.toContain(entry.seed);

    const config = await readFile(join(out, "nats-server.conf"), "utf8");
    expect(config).toContain(keys.issuer.publicKey);
    const { stdout, stderr } = await run(localNatsServerBinary(), ["-c", join(out, "nats-server.conf"), "-t"]);
    expect(stdout + stderr).toMatch(/is valid/);
  });

  it("refuses to replace existing keys unless --force", async () => {
    const out = join(dir, "second");
    expect((await keysCli("--out", out)).code).toBe(0);
    const before = await loadNatsKeys(join(out, "nats-keys.json"));
    const refused = await keysCli("--out", out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--force/);
    expect(await loadNatsKeys(join(out, "nats-keys.json"))).toEqual(before);
    expect((await keysCli("--out", out, "--force")).code).toBe(0);
    const after = await loadNatsKeys(join(out, "nats-keys.json"));
    expect(after.issuer.publicKey).not.toBe(before.issuer.publicKey);
    expect(await readFile(join(out, "nats-server.conf"), "utf8")).toContain(after.issuer.publicKey);
  });
});

describe("keys CLI options", () => {
  it("documents its options on --help", async () => {
    const result = await keysCli("--help");
    expect(result.code).toBe(0);
    for (const option of [
      "--out",
      "--force",
      "--host",
      "--port",
      "--ws-port",
      "--http-port",
      "--cluster",
      "--cluster-port",
    ])
      expect(result.stdout).toContain(option);
    expect(result.stdout).toMatch(/WebSocket port for participants \(default 9222\)/);
  });

  it("refuses an unknown option or a bad count, pointing at --help", async () => {
    for (const args of [["--bogus"], ["--cluster", "9"], ["--port", "http"]]) {
      const result = await keysCli(...args, "--out", join(dir, "refused"));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^pnm-server-keys: .*; see --help\n$/);
    }
  });

  it("writes three node configs with routes for --cluster 3, and the pnm settings that go with them", async () => {
    const out = join(dir, "cluster");
    const result = await keysCli("--out", out, "--cluster", "3", "--port", "14222", "--ws-port", "19222");
    expect(result.code).toBe(0);
    const keys = await loadNatsKeys(join(out, "nats-keys.json"));
    for (const node of [1, 2, 3]) {
      const file = join(out, `nats-server-${node}.conf`);
      const config = await readFile(file, "utf8");
      expect(config).toContain(`server_name: pnm-${node}`);
      expect(config).toContain(`port: ${14221 + node}`);
      expect(config).toContain(`port: ${6221 + node}`);
      expect(config).toContain(
        'routes: ["nats-route://127.0.0.1:6222", "nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"]',
      );
      expect(config).toContain(keys.issuer.publicKey);
      const { stdout, stderr } = await run(localNatsServerBinary(), ["-c", file, "-t"]);
      expect(stdout + stderr).toMatch(/is valid/);
      expect(result.stdout).toContain(`"\${NATS_SERVER:-nats-server}" -c ${file}`);
    }
    const settings = [
      "PNM_NATS_URL=nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224",
      `PNM_NATS_KEYS_FILE=${join(out, "nats-keys.json")}`,
      "PNM_NATS_WS_URLS=ws://127.0.0.1:19222,ws://127.0.0.1:19223,ws://127.0.0.1:19224",
      "PNM_NATS_REPLICAS=3",
    ];
    for (const line of settings) expect(result.stdout).toContain(`  ${line}\n`);
    expect(await readFile(join(out, "pnm.env"), "utf8")).toBe(`${settings.join("\n")}\n`);
    expect(result.stdout).not.toMatch(/8222\b.*WebSocket|ws:\/\/[^ ]*:8222/);
    for (const entry of Object.values(keys)) expect(result.stdout + result.stderr).not.toContain(entry.seed);
  });
});
