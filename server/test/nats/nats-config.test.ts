import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsConfigError, type NatsServerConfigOptions, renderNatsServerConfig } from "../../src/nats/nats-config.js";
import { createNatsKeys } from "../../src/nats/nats-keys.js";
import { localNatsServerBinary } from "../support/harness.js";

const run = promisify(execFile);
let dir: string;
let binary: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pnm-nats-config-"));
  binary = localNatsServerBinary();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** nats-server -t parses the file (it does not validate everything a start does). */
async function testConfig(config: string): Promise<{ ok: boolean; output: string }> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(path, config);
  try {
    const { stdout, stderr } = await run(binary, ["-c", path, "-t"]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string };
    return { ok: false, output: failed.stdout + failed.stderr };
  }
}

function options(overrides: Partial<NatsServerConfigOptions> = {}): NatsServerConfigOptions {
  return {
    keys: createNatsKeys(),
    serverName: "pnm-test",
    port: 4222,
    websocketPort: 8222,
    storeDir: join(dir, 'store with "quotes" and \\ slashes'),
    ...overrides,
  };
}

describe("renderNatsServerConfig", () => {
  it("is accepted by the real nats-server, with and without optional listeners", async () => {
    for (const config of [
      renderNatsServerConfig(options()),
      renderNatsServerConfig(options({ httpPort: 8223, portsFileDir: dir, host: "::1", authTimeoutSeconds: 2.5 })),
      renderNatsServerConfig(options({ port: -1, websocketPort: -1, httpPort: -1 })),
      renderNatsServerConfig(options({ accountLimits: { maxSubscriptions: 16, maxPayload: 8 * 1024 * 1024 } })),
    ]) {
      const result = await testConfig(config);
      expect(result.output).toMatch(/is valid/);
      expect(result.ok).toBe(true);
    }
  });

  it("names the keys, accounts and callout where the server expects them", () => {
    const keys = createNatsKeys();
    const config = renderNatsServerConfig(options({ keys }));
    expect(config).toContain(`issuer: "${keys.issuer.publicKey}"`);
    expect(config).toContain(`xkey: "${keys.xkey.publicKey}"`);
    expect(config).toContain(`auth_users: ["${keys.serverUser.publicKey}", "${keys.systemUser.publicKey}"]`);
    expect(config).toContain("account: PNM");
    expect(config).toContain("system_account: SYS");
    for (const entry of Object.values(keys)) expect(config).not.toContain(entry.seed);
  });

  it("is rejected by the server when a key is broken, so the check above means something", async () => {
    const config = renderNatsServerConfig(options()).replace(/xkey: "X/, 'xkey: "Y');
    const result = await testConfig(config);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/xkey/);
  });

  it("refuses bad input before the server sees it", () => {
    const keys = createNatsKeys();
    const bad: Partial<NatsServerConfigOptions>[] = [
      { serverName: "has space" },
      { port: 70000 },
      { websocketPort: 1.5 },
      { host: "x\ny" },
      { storeDir: "a\nb" },
      { storeDir: "lone \ud800 surrogate" },
      { authTimeoutSeconds: 0 },
      { keys: { ...keys, issuer: keys.serverUser } },
      { keys: { ...keys, xkey: keys.issuer } },
      { keys: { ...keys, systemUser: keys.serverUser } },
      { accountLimits: { maxSubscriptions: 15, maxPayload: 1024 * 1024 } },
      { accountLimits: { maxSubscriptions: 64, maxPayload: 8 * 1024 * 1024 + 1 } },
      { accountLimits: { maxSubscriptions: 64.5, maxPayload: 1024 * 1024 } },
    ];
    for (const overrides of bad) expect(() => renderNatsServerConfig(options(overrides))).toThrow(NatsConfigError);
  });
});
