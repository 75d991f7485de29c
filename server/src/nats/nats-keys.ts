import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createAccount, createCurve, createUser, fromCurveSeed } from "@nats-io/nkeys";
import { createNativeSigner } from "../nkeys/native-signer.js";
import type { NkeyKind } from "../nkeys/nkey-codec.js";

export interface NatsKeyEntry {
  publicKey: string;
  seed: string;
}

/** Every key the pnm deployment of nats-server needs; fresh per deployment (upstream's sample seeds are public). */
export interface NatsKeys {
  /** Account key (A…) that signs auth-callout responses and the user JWTs in them. */
  issuer: NatsKeyEntry;
  /** Curve key (X…) the nats-server seals callout requests to. */
  xkey: NatsKeyEntry;
  /** nkey user (U…) of the pnm server in account PNM; bypasses the callout. */
  serverUser: NatsKeyEntry;
  /** nkey user (U…) in the system account, for connection events and kicks; bypasses the callout. */
  systemUser: NatsKeyEntry;
}

/** The public halves, all that a nats-server configuration needs. */
export type NatsPublicKeys = { [K in keyof NatsKeys]: Pick<NatsKeyEntry, "publicKey"> };

export class NatsKeysError extends Error {
  override readonly name = "NatsKeysError";
}

const fileVersion = 1;
const kindByRole: Record<keyof NatsKeys, NkeyKind> = { issuer: "A", xkey: "X", serverUser: "U", systemUser: "U" };

export function createNatsKeys(): NatsKeys {
  const entry = (pair: ReturnType<typeof createUser>): NatsKeyEntry => ({
    publicKey: pair.getPublicKey(),
    seed: new TextDecoder().decode(pair.getSeed()),
  });
  return {
    issuer: entry(createAccount()),
    xkey: entry(createCurve()),
    serverUser: entry(createUser()),
    systemUser: entry(createUser()),
  };
}

function publicKeyOfSeed(kind: NkeyKind, seed: string): string {
  const encoded = new TextEncoder().encode(seed);
  return kind === "X" ? fromCurveSeed(encoded).getPublicKey() : createNativeSigner(encoded).getPublicKey();
}

/** Checks a parsed keys file: every seed must be of the right kind and match its public key. */
export function parseNatsKeys(value: unknown): NatsKeys {
  const record = value as Record<string, unknown> | null;
  if (typeof record !== "object" || record === null || record.version !== fileVersion) {
    throw new NatsKeysError(`nats keys must be an object with version ${fileVersion}`);
  }
  const keys = {} as NatsKeys;
  for (const [role, kind] of Object.entries(kindByRole) as [keyof NatsKeys, NkeyKind][]) {
    const entry = record[role] as Record<string, unknown> | undefined;
    if (typeof entry?.publicKey !== "string" || typeof entry.seed !== "string") {
      throw new NatsKeysError(`nats keys: ${role} needs publicKey and seed strings`);
    }
    let derived: string;
    try {
      derived = publicKeyOfSeed(kind, entry.seed);
    } catch (cause) {
      throw new NatsKeysError(`nats keys: ${role} seed is not a valid ${kind} seed`, { cause });
    }
    if (!derived.startsWith(kind) || derived !== entry.publicKey) {
      throw new NatsKeysError(`nats keys: ${role} seed does not match its ${kind} public key`);
    }
    keys[role] = { publicKey: entry.publicKey, seed: entry.seed };
  }
  return keys;
}

export interface SaveNatsKeysOptions {
  /** Replace an existing file; without it an existing file is an error. */
  overwrite?: boolean;
}

/** Writes the keys as JSON readable by the owner only (mode 0600, directory 0700 when created). */
export async function saveNatsKeys(path: string, keys: NatsKeys, options: SaveNatsKeysOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify({ version: fileVersion, ...keys }, null, 2)}\n`;
  try {
    if (!options.overwrite) {
      await writeFile(path, text, { mode: 0o600, flag: "wx" });
      return;
    }
    // A temporary file renamed into place never leaves a half-written keys file,
    // and gets mode 0600 even when the file it replaces was laxer.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o600, flag: "w" });
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === "EEXIST";
    throw new NatsKeysError(exists ? `nats keys already exist at ${path}` : `cannot write nats keys to ${path}`, {
      cause,
    });
  }
}

/** Reads and checks a keys file; refuses one that group or others may access, like ssh does. */
export async function loadNatsKeys(path: string): Promise<NatsKeys> {
  let text: string;
  try {
    const info = await stat(path);
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      throw new NatsKeysError(`nats keys at ${path} are accessible by others; chmod 600 it`);
    }
    text = await readFile(path, "utf8");
  } catch (cause) {
    if (cause instanceof NatsKeysError) throw cause;
    throw new NatsKeysError(`cannot read nats keys from ${path}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No cause: V8's JSON errors quote the text around the fault, which holds seeds.
    throw new NatsKeysError(`nats keys at ${path} are not JSON`);
  }
  return parseNatsKeys(parsed);
}

const causeCode = (error: unknown) => ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;

/** Loads the keys at path, or creates and saves fresh ones when there is no file yet. */
export async function loadOrCreateNatsKeys(path: string): Promise<NatsKeys> {
  try {
    return await loadNatsKeys(path);
  } catch (error) {
    if (causeCode(error) !== "ENOENT") throw error;
  }
  const keys = createNatsKeys();
  try {
    await saveNatsKeys(path, keys);
    return keys;
  } catch (error) {
    // Another process created the file in between; all of them must share its keys.
    if (causeCode(error) === "EEXIST") return loadNatsKeys(path);
    throw error;
  }
}
