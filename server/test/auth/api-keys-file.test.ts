import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createApiKeyring } from "../../src/auth/api-keyring.js";
import { type ApiKeysFileWatch, readApiKeysFile, watchApiKeysFile } from "../../src/auth/api-keys-file.js";
import { ConfigError } from "../../src/config-error.js";

const secret = (tag: string) => `${tag}-${"s".repeat(32)}`;
const dir = () => mkdtempSync(join(tmpdir(), "pnm-keys-file-"));
const write = (file: string, keys: unknown) =>
  writeFileSync(file, typeof keys === "string" ? keys : JSON.stringify({ keys }));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("reading PNM_API_KEYS_FILE", () => {
  it("gives the pairs in file order", () => {
    const file = join(dir(), "keys.json");
    write(file, [
      { key: "a", secret: secret("a") },
      { key: "b", secret: secret("b") },
    ]);
    expect(readApiKeysFile(file)).toEqual([
      { key: "a", secret: secret("a") },
      { key: "b", secret: secret("b") },
    ]);
  });

  it.each([
    ["a missing file", undefined],
    ["text that is not JSON", "{keys:"],
    ["no keys list", "{}"],
    ["an empty list", "[]"],
    [
      "a key listed twice",
      [
        { key: "a", secret: secret("1") },
        { key: "a", secret: secret("2") },
      ],
    ],
    ["a short secret", [{ key: "a", secret: "short" }]],
    ["a secret that is not a string", [{ key: "a", secret: 42 }]],
  ])("refuses %s with a ConfigError naming the variable", (_name, content) => {
    const file = join(dir(), "keys.json");
    if (content !== undefined) write(file, content === "[]" ? { keys: [] } : content);
    let error: unknown;
    try {
      readApiKeysFile(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^PNM_API_KEYS_FILE: /);
  });
});

describe("following PNM_API_KEYS_FILE", () => {
  let watch: ApiKeysFileWatch | undefined;
  afterEach(() => watch?.close());
  const errors: string[] = [];
  const logger = { info: () => {}, error: (message: string) => void errors.push(message) };

  it("takes the new pairs when the file changes, also when it is replaced by a rename", async () => {
    const folder = dir();
    const file = join(folder, "keys.json");
    write(file, [{ key: "a", secret: secret("a") }]);
    const keyring = createApiKeyring(readApiKeysFile(file));
    watch = watchApiKeysFile({ file, keyring, logger });
    write(file, [
      { key: "a", secret: secret("a") },
      { key: "b", secret: secret("b") },
    ]);
    await until(() => keyring.lookup("b") !== undefined, "b is active");
    expect(keyring.newest().key).toBe("b");
    // Atomic replacement, as editors and config-map updates do it.
    write(join(folder, "keys.json.tmp"), [{ key: "b", secret: secret("b") }]);
    renameSync(join(folder, "keys.json.tmp"), file);
    await until(() => keyring.lookup("a") === undefined, "a is gone");
    expect(keyring.all().map((k) => k.key)).toEqual(["b"]);
  });

  it("reloads on SIGHUP at once", () => {
    const file = join(dir(), "keys.json");
    write(file, [{ key: "a", secret: secret("a") }]);
    const keyring = createApiKeyring(readApiKeysFile(file));
    watch = watchApiKeysFile({ file, keyring, logger });
    write(file, [{ key: "c", secret: secret("c") }]);
    // Emitted, not raised: the listener runs now, before the change watcher's debounce could.
    process.emit("SIGHUP", "SIGHUP");
    expect(keyring.all().map((k) => k.key)).toEqual(["c"]);
  });

  it("keeps the active pairs when the file is broken, and reports it", async () => {
    const file = join(dir(), "keys.json");
    write(file, [{ key: "a", secret: secret("a") }]);
    const keyring = createApiKeyring(readApiKeysFile(file));
    watch = watchApiKeysFile({ file, keyring, logger });
    errors.length = 0;
    write(file, '{"keys": [{"key": "a", "secret": "half-writ');
    process.emit("SIGHUP", "SIGHUP");
    expect(keyring.lookup("a")?.key).toBe("a");
    expect(errors).toEqual([
      expect.stringMatching(/^API keys not reloaded, the active ones stay: PNM_API_KEYS_FILE: /),
    ]);
    // JSON errors quote the text around the fault: none of it may reach the log.
    expect(errors.join("\n")).not.toContain("half-writ");
  });

  it("stops listening for SIGHUP when closed", () => {
    const before = process.listenerCount("SIGHUP");
    const file = join(dir(), "keys.json");
    write(file, [{ key: "a", secret: secret("a") }]);
    const w = watchApiKeysFile({ file, keyring: createApiKeyring(readApiKeysFile(file)), logger });
    expect(process.listenerCount("SIGHUP")).toBe(before + 1);
    w.close();
    expect(process.listenerCount("SIGHUP")).toBe(before);
  });
});
