import { type FSWatcher, readFileSync, watch } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "../config-error.js";
import type { Logger } from "../logger.js";
import { type ApiKeyPair, ApiKeyPairsError, type ApiKeyring, checkApiKeyPairs } from "./api-keyring.js";

/**
 * PNM_API_KEYS_FILE: the active API key/secret pairs, as JSON,
 *
 *   { "keys": [ { "key": "old", "secret": "…" }, { "key": "new", "secret": "…" } ] }
 *
 * Each key selects its own secret; the last pair is the newest and signs new
 * access tokens. The file is read again on SIGHUP and whenever it changes.
 */
export const apiKeysFileVariable = "PNM_API_KEYS_FILE";

/** The pairs in `file`; throws a ConfigError naming PNM_API_KEYS_FILE when it cannot be read or breaks a rule. */
export function readApiKeysFile(file: string): ApiKeyPair[] {
  return parseApiKeys(file, readText(file));
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${apiKeysFileVariable}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function parseApiKeys(file: string, text: string): ApiKeyPair[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Neither message nor cause: JSON errors quote the text around the fault, which holds secrets.
    throw new ConfigError(`${apiKeysFileVariable}: ${file} is not JSON`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => k !== null && typeof k === "object" && !Array.isArray(k))) {
    throw new ConfigError(`${apiKeysFileVariable}: ${file} must hold {"keys": [{"key": "…", "secret": "…"}, …]}`);
  }
  const pairs = keys.map((k: Record<string, unknown>) => ({ key: k.key, secret: k.secret }) as ApiKeyPair);
  try {
    checkApiKeyPairs(pairs);
  } catch (err) {
    if (err instanceof ApiKeyPairsError)
      throw new ConfigError(`${apiKeysFileVariable}: ${file}: ${err.message}`, { cause: err });
    throw err;
  }
  return pairs;
}

/** What `watchApiKeysFile` follows and whom it tells. */
export interface ApiKeysFileWatchOptions {
  /** The keys file's path. */
  file: string;
  /** Receives the file's pairs whenever they change. */
  keyring: ApiKeyring;
  /** Hears about reloads, and files that could not be used. */
  logger: Logger;
}

/** A keys file being followed. */
export interface ApiKeysFileWatch {
  /** Reads the file now; a file that breaks a rule is logged and the active pairs stay. */
  reload(): void;
  /** Stops watching the file and listening for SIGHUP. */
  close(): void;
}

/**
 * Keeps `keyring` in step with the file: on SIGHUP, and on any change in the
 * file's directory (which also catches a file replaced by a rename or a
 * swapped symlink, as config maps are updated), the file is read again and,
 * when its content changed, replaces the active pairs at once. A file that
 * cannot be read or breaks a rule (say, half-written) leaves the active pairs
 * as they are and is reported, so a bad edit never locks callers out.
 */
export function watchApiKeysFile(options: ApiKeysFileWatchOptions): ApiKeysFileWatch {
  const { file, keyring, logger } = options;
  let loaded: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    let text: string;
    let pairs: ApiKeyPair[];
    try {
      text = readText(file);
      if (text === loaded) return;
      pairs = parseApiKeys(file, text);
    } catch (err) {
      return logger.error(`API keys not reloaded, the active ones stay: ${(err as Error).message}`);
    }
    keyring.replace(pairs);
    if (loaded !== undefined)
      logger.info(`API keys reloaded from ${file}: ${pairs.map((p) => p.key).join(", ")} (newest last)`);
    loaded = text;
  };
  // Several events arrive for one save; one read after they settle is enough.
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 50).unref();
  };
  reload();
  let watcher: FSWatcher | undefined;
  try {
    // Unref'd: following the file never keeps the process alive by itself.
    watcher = watch(dirname(file), soon).unref();
    watcher.on("error", (err) => logger.error(`watching ${file} failed; SIGHUP still reloads it`, err));
  } catch (err) {
    logger.error(`cannot watch ${file}; SIGHUP reloads it`, err);
  }
  process.on("SIGHUP", reload);
  return {
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
      process.off("SIGHUP", reload);
    },
  };
}
