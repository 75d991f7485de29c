import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createNatsKeys,
  loadNatsKeys,
  loadOrCreateNatsKeys,
  NatsKeysError,
  parseNatsKeys,
  saveNatsKeys,
} from "../../src/nats/nats-keys.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pnm-nats-keys-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("nats keys", () => {
  it("creates distinct keys of the right kinds", () => {
    const keys = createNatsKeys();
    expect(keys.issuer.publicKey).toMatch(/^A/);
    expect(keys.issuer.seed).toMatch(/^SA/);
    expect(keys.xkey.publicKey).toMatch(/^X/);
    expect(keys.xkey.seed).toMatch(/^SX/);
    expect(keys.serverUser.publicKey).toMatch(/^U/);
    expect(keys.systemUser.publicKey).toMatch(/^U/);
    expect(keys.serverUser.publicKey).not.toBe(keys.systemUser.publicKey);
    expect(parseNatsKeys({ version: 1, ...keys })).toEqual(keys);
  });

  it("saves with mode 0600 under a new 0700 directory and loads back", async () => {
    const keys = createNatsKeys();
    const path = join(dir, "nested", "nats-keys.json");
    await saveNatsKeys(path, keys);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "nested"))).mode & 0o777).toBe(0o700);
    expect(await loadNatsKeys(path)).toEqual(keys);
  });

  it("refuses to overwrite unless asked, and then keeps 0600", async () => {
    const path = join(dir, "nats-keys.json");
    const first = createNatsKeys();
    await saveNatsKeys(path, first);
    await expect(saveNatsKeys(path, createNatsKeys())).rejects.toThrow(/already exist/);
    expect(await loadNatsKeys(path)).toEqual(first);
    await chmod(path, 0o644);
    const second = createNatsKeys();
    await saveNatsKeys(path, second, { overwrite: true });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await loadNatsKeys(path)).toEqual(second);
  });

  it("refuses a file others can read", async () => {
    const path = join(dir, "nats-keys.json");
    await saveNatsKeys(path, createNatsKeys());
    await chmod(path, 0o640);
    await expect(loadNatsKeys(path)).rejects.toThrow(/accessible by others/);
  });

  it("refuses mismatched, mis-kinded and unversioned keys without echoing seeds", async () => {
    const keys = createNatsKeys();
    const other = createNatsKeys();
    const cases: unknown[] = [
      { ...keys, version: 1, issuer: { ...keys.issuer, publicKey: other.issuer.publicKey } },
      { ...keys, version: 1, serverUser: keys.issuer },
      { ...keys, version: 1, xkey: keys.systemUser },
      { ...keys, version: 2 },
      { ...keys },
      null,
    ];
    for (const value of cases) {
      let caught: unknown;
      try {
        parseNatsKeys(value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(NatsKeysError);
      expect(String((caught as Error).message)).not.toMatch(/S[AUX][A-Z2-7]{20}/);
    }
    const path = join(dir, "broken.json");
    await writeFile(path, `{"version":1,"issuer":{"seed":"${keys.issuer.seed}"`, { mode: 0o600 });
    const error = (await loadNatsKeys(path).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(NatsKeysError);
    expect(error.message).not.toContain(keys.issuer.seed.slice(0, 12));
    expect(error.cause).toBeUndefined();
  });
});

describe("loadOrCreateNatsKeys", () => {
  it("creates keys once and loads them afterwards, also under concurrent first use", async () => {
    const path = join(dir, "shared", "nats-keys.json");
    const results = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateNatsKeys(path)));
    for (const keys of results) expect(keys).toEqual(results[0]);
    expect(await loadOrCreateNatsKeys(path)).toEqual(results[0]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("does not paper over a broken file by creating new keys", async () => {
    const path = join(dir, "nats-keys.json");
    await writeFile(path, "{}", { mode: 0o600 });
    await expect(loadOrCreateNatsKeys(path)).rejects.toBeInstanceOf(NatsKeysError);
  });
});
