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
