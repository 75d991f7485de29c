import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { checkApiCredentials, type ParsedConfig, type PnmConfig } from "./config.js";
import { ConfigError } from "./config-error.js";

/**
 * The configuration with API credentials: `config` as it is when it has them
 * (or a keys file), else the dev credentials in `dev-credentials.json` of the
 * data directory, generated there (mode 0600) on first use. Kept apart from
 * `parseConfig`, which only reads, because this writes a file.
 */
export async function ensureDevCredentials(config: ParsedConfig): Promise<PnmConfig> {
  const { apiKey, apiSecret } = config;
  if (apiKey !== undefined && apiSecret !== undefined) return { ...config, apiKey, apiSecret };
  const file = join(config.dataDir, "dev-credentials.json");
  const saved = await readSaved(file);
  if (saved) {
    checkApiCredentials(saved.apiKey, saved.apiSecret, file, "delete the file to have new dev credentials generated");
    return { ...config, ...saved, devCredentialsFile: file };
  }
  const generated = {
    apiKey: `pnm-dev-${randomBytes(6).toString("hex")}`,
    // Hex, never base64url: a secret that starts with "-" reads as an option on a command line (pnm-conformance --api-secret).
    apiSecret: randomBytes(32).toString("hex"),
  };
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600 });
    // writeFile's mode applies to a new file only; an existing one keeps its own.
    await chmod(file, 0o600);
  } catch (cause) {
    throw new ConfigError(
      `cannot write dev credentials to ${file} (${(cause as Error).message}): set PNM_DATA_DIR to a writable directory, or set PNM_API_KEY and PNM_API_SECRET`,
      { cause },
    );
  }
  return { ...config, ...generated, devCredentialsFile: file };
}

/** The credentials saved before; undefined when there is no file, or one without both fields (it is then replaced). */
async function readSaved(file: string): Promise<{ apiKey: string; apiSecret: string } | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(
      `cannot read dev credentials from ${file} (${(cause as Error).message}): fix its permissions, or set PNM_API_KEY and PNM_API_SECRET`,
      { cause },
    );
  }
  let saved: { apiKey?: unknown; apiSecret?: unknown } | null;
  try {
    saved = JSON.parse(text) as typeof saved;
  } catch {
    // No cause: JSON errors quote the text around the fault, which holds the secret.
    throw new ConfigError(
      `${file} is not JSON: delete it to have new dev credentials generated, or set PNM_API_KEY and PNM_API_SECRET`,
    );
  }
  if (typeof saved?.apiKey !== "string" || typeof saved.apiSecret !== "string" || !saved.apiKey || !saved.apiSecret)
    return undefined;
  return { apiKey: saved.apiKey, apiSecret: saved.apiSecret };
}
