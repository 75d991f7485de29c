import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
import { isProfile, type Profile } from "./profiles.js";

export const usage = `Usage:
  pnm-conformance [--url URL --api-key KEY --api-secret SECRET | --spawn "COMMAND"] [options]
      Runs the behavioural cases against a server.
  pnm-conformance vectors [--vectors FILE]... [--known-failing FILE] [--report FILE]
      Checks this repository's implementation against the test vectors (no server).
  pnm-conformance keys FILE
      Checks E2EE room keys from a generator, one per line, for the key properties.

Server:
  --url URL              a running server (with --api-key and --api-secret)
  --spawn "COMMAND"      start the server with this shell command, on a free port with
                         fresh credentials (env PNM_HOST, PNM_HTTP_PORT, PNM_API_KEY,
                         PNM_API_SECRET, PNM_DATA_DIR), wait for GET /healthz, stop it after

Options:
  --profile upstream|pnm what to check: upstream's guarantees only, or pnm's too (default pnm)
  --features FILE        the transports the server offers (default features/<profile>.yaml)
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

export type CliCommand =
  | { command: "help" }
  | ({
      command: "cases";
      server: { url: string; apiKey: string; apiSecret: string } | { spawn: string };
      profile: Profile;
      features: string;
      casesDir: string;
      filters: string[];
      concurrency: number;
    } & Common)
  | ({ command: "vectors"; vectorFiles: string[] } & Common)
  | { command: "keys"; file: string };

export function parseCommandLine(args: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: "string" },
        "api-key": { type: "string" },
        "api-secret": { type: "string" },
        spawn: { type: "string" },
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
  const { values, positionals } = parsed;
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
  if (!isProfile(profile)) throw new UsageError(`--profile must be upstream or pnm, not "${profile}"`);
  const concurrency = Number(values.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError("--concurrency must be a positive integer");
  let server: Extract<CliCommand, { command: "cases" }>["server"];
  if (values.spawn !== undefined) {
    if (values.url !== undefined) throw new UsageError("give --url or --spawn, not both");
    if (values["api-key"] !== undefined || values["api-secret"] !== undefined) {
      throw new UsageError("--spawn generates the server's credentials; --api-key and --api-secret go with --url");
    }
    server = { spawn: values.spawn };
  } else {
    const { url, "api-key": apiKey, "api-secret": apiSecret } = values;
    if (!url || !apiKey || !apiSecret) throw new UsageError("give --url with --api-key and --api-secret, or --spawn");
    server = { url, apiKey, apiSecret };
  }
  return {
    command: "cases",
    server,
    profile,
    features: values.features ?? packageDir(`features/${profile}.yaml`),
    casesDir: values.cases ?? packageDir("cases"),
    filters: values.filter ?? [],
    concurrency,
    ...common,
  };
}
