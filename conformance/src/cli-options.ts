import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
import type { LiveKitCredentials } from "./livekit.js";
import { isProfile, type Profile } from "./profiles.js";

/** The CLI's help text, printed by --help and with usage errors. */
export const usage = `Usage:
  pnm-conformance [--url URL --api-key KEY --api-secret SECRET | --spawn "COMMAND"] [options]
      Runs the behavioural cases against a server.
  pnm-conformance vectors [--vectors FILE]... [--known-failing FILE] [--report FILE]
      Checks pnm's implementation against the test vectors (no server).
  pnm-conformance keys FILE
      Checks E2EE room keys from a generator, one per line, for the key properties.

Server:
  --url URL              a running server (with --api-key and --api-secret)
  --spawn "COMMAND"      start the server with this shell command, on a free port with
                         fresh credentials (env PNM_HOST, PNM_HTTP_PORT, PNM_API_KEY,
                         PNM_API_SECRET, PNM_DATA_DIR, and generated PNM_LIVEKIT_URL,
                         PNM_LIVEKIT_API_KEY, PNM_LIVEKIT_API_SECRET), wait for GET /healthz,
                         stop it after

NATS plane and media (cases that need them run only when the features file says nats: true):
  --nats-url URL         the WebSocket URL participants connect to (default: the first
                         nats_ws_urls entry of the server's VerifyToken answer)
  --livekit-api-key KEY  with --livekit-api-secret: the LiveKit credentials of the server at
  --livekit-api-secret S --url, so that media tokens are verified; without them only media
                         refusals are checked
  --no-livekit           the server has no media server (with --spawn: start it without one),
                         so media requests must be refused as unavailable

Options:
  --profile upstream|pnm what to check: upstream's guarantees only, or pnm's too (default pnm)
  --features FILE        the transports the server offers, and nats: true when it offers
                         the NATS plane (default features/<profile>.yaml)
  --cases DIR            case directory (default: the cases that ship with the harness)
  --filter TEXT          only cases whose name contains TEXT (repeatable)
  --known-failing FILE   case names expected to fail, one per line; * and ** patterns
  --report FILE          write a JSON report
  --concurrency N        cases in flight at once (default 8)
  --vectors FILE         (vectors) an extra vectors file in the pnm-vectors/v1 schema (repeatable)
  --help                 this text

Exit status: 0 when nothing failed unexpectedly, 1 when something did, 2 on usage or setup errors.`;

const packageDir = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

interface Common {
  knownFailing?: string;
  report?: string;
}

/** A command line, parsed and checked, with the defaults filled in. */
export type CliCommand =
  | { command: "help" }
  | ({
      command: "cases";
      server:
        | { url: string; apiKey: string; apiSecret: string; liveKit?: LiveKitCredentials | "absent" }
        | { spawn: string; liveKit: boolean };
      natsUrl?: string;
      profile: Profile;
      features: string;
      casesDir: string;
      filters: string[];
      concurrency: number;
    } & Common)
  | ({ command: "vectors"; vectorFiles: string[] } & Common)
  | { command: "keys"; file: string };

/** node:util's parseArgs over the CLI's options; throws UsageError for an unknown or malformed one. */
function parseOptions(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: "string" },
        "api-key": { type: "string" },
        "api-secret": { type: "string" },
        spawn: { type: "string" },
        "nats-url": { type: "string" },
        "livekit-api-key": { type: "string" },
        "livekit-api-secret": { type: "string" },
        "no-livekit": { type: "boolean" },
        profile: { type: "string" },
        features: { type: "string" },
        cases: { type: "string" },
        filter: { type: "string", multiple: true },
        "known-failing": { type: "string" },
        report: { type: "string" },
        concurrency: { type: "string" },
        vectors: { type: "string", multiple: true },
        help: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/** Parses the CLI's arguments (without node and the script); throws UsageError for one it cannot act on. */
export function parseCommandLine(args: string[]): CliCommand {
  const { values, positionals } = parseOptions(args);
  if (values.help) return { command: "help" };
  const [command = "cases", ...rest] = positionals;
  const common: Common = { knownFailing: values["known-failing"], report: values.report };
  const only = (allowed: string[]) => {
    const extra = Object.keys(values).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw new UsageError(`--${extra[0]} does not apply to "${command}"`);
  };

  if (command === "vectors") {
    only(["vectors", "known-failing", "report"]);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    return { command, vectorFiles: values.vectors ?? [], ...common };
  }
  if (command === "keys") {
    only([]);
    if (rest.length !== 1) throw new UsageError("keys takes exactly one FILE");
    return { command, file: rest[0]! };
  }
  if (positionals.length > 0) throw new UsageError(`unknown command "${command}"`);
  if (values.vectors) throw new UsageError('--vectors belongs to the "vectors" command');

  const profile = values.profile ?? "pnm";
  if (!isProfile(profile))
    throw new UsageError(`--profile must be upstream, pnm or upstream-web-client, not "${profile}"`);
  const concurrency = Number(values.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError("--concurrency must be a positive integer");
  const { "livekit-api-key": liveKitKey, "livekit-api-secret": liveKitSecret, "no-livekit": noLiveKit } = values;
  if ((liveKitKey === undefined) !== (liveKitSecret === undefined))
    throw new UsageError("give --livekit-api-key and --livekit-api-secret together");
  if (noLiveKit && liveKitKey !== undefined)
    throw new UsageError("--no-livekit excludes --livekit-api-key and --livekit-api-secret");
  let server: Extract<CliCommand, { command: "cases" }>["server"];
  if (values.spawn !== undefined) {
    if (values.url !== undefined) throw new UsageError("give --url or --spawn, not both");
    if (values["api-key"] !== undefined || values["api-secret"] !== undefined) {
      throw new UsageError("--spawn generates the server's credentials; --api-key and --api-secret go with --url");
    }
    if (liveKitKey !== undefined)
      throw new UsageError(
        "--spawn generates the LiveKit credentials; --livekit-api-key and --livekit-api-secret go with --url",
      );
    server = { spawn: values.spawn, liveKit: !noLiveKit };
  } else {
    const { url, "api-key": apiKey, "api-secret": apiSecret } = values;
    if (!url || !apiKey || !apiSecret) throw new UsageError("give --url with --api-key and --api-secret, or --spawn");
    const liveKit = noLiveKit
      ? "absent"
      : liveKitKey !== undefined
        ? { apiKey: liveKitKey, apiSecret: liveKitSecret! }
        : undefined;
    server = { url, apiKey, apiSecret, liveKit };
  }
  const natsUrl = values["nats-url"];
  if (natsUrl !== undefined && !/^wss?:\/\/./.test(natsUrl))
    throw new UsageError(`--nats-url must be a ws:// or wss:// URL, not "${natsUrl}"`);
  return {
    command: "cases",
    server,
    natsUrl,
    profile,
    features: values.features ?? packageDir(`features/${profile}.yaml`),
    casesDir: values.cases ?? packageDir("cases"),
    filters: values.filter ?? [],
    concurrency,
    ...common,
  };
}
