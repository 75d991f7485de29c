import { readFileSync } from "node:fs";
import { loadCaseDirectory } from "./cases/load-cases.js";
import { type CliCommand, parseCommandLine, usage } from "./cli-options.js";
import { DefinitionError, ServerStartError, UsageError, VectorFileError } from "./errors.js";
import { loadFeatures } from "./features.js";
import { type KnownFailing, loadKnownFailing } from "./known-failing.js";
import { failureLine, type ReportHeader, summaryLines, tally, writeReport } from "./report.js";
import { checkRoomKeySet } from "./room-key.js";
import {
  availableRequirements,
  type CaseResult,
  expandCases,
  runCases,
  type ServerTarget,
  unmetRequirements,
} from "./run/runner.js";
import { type SpawnedServer, spawnServer } from "./spawn-server.js";
import { builtInVectorFiles, runVectorFiles } from "./vectors/run-vectors.js";

/** Runs one command line; resolves to the process exit status. */
export async function main(args: string[], print: (line: string) => void = console.log): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCommandLine(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    print(`pnm-conformance: ${err.message}\n\n${usage}`);
    return 2;
  }
  try {
    switch (command.command) {
      case "help":
        print(usage);
        return 0;
      case "keys":
        return checkKeysFile(command.file, print);
      case "vectors":
        return await runVectorsCommand(command, print);
      case "cases":
        return await runCasesCommand(command, print);
    }
  } catch (err) {
    if (err instanceof DefinitionError || err instanceof VectorFileError || err instanceof ServerStartError) {
      print(`pnm-conformance: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

async function runCasesCommand(
  command: Extract<CliCommand, { command: "cases" }>,
  print: (line: string) => void,
): Promise<number> {
  const features = loadFeatures(command.features);
  const cases = loadCaseDirectory(command.casesDir);
  const knownFailing = command.knownFailing ? loadKnownFailing(command.knownFailing) : undefined;
  const started = new Date();
  let spawned: SpawnedServer | undefined;
  let target: ServerTarget;
  if ("spawn" in command.server) {
    spawned = await spawnServer({ command: command.server.spawn, liveKit: command.server.liveKit });
    target = { ...spawned, natsUrl: command.natsUrl };
  } else {
    const { url, apiKey, apiSecret, liveKit } = command.server;
    target = { baseUrl: url.replace(/\/+$/, ""), apiKey, apiSecret, liveKit, natsUrl: command.natsUrl };
  }
  const available = availableRequirements(features, target);
  const names = expandCases(cases, command.profile, features, command.filters, available).map((c) => c.name);
  print(
    `pnm-conformance: ${names.length} cases, profile ${command.profile}, transports ${features.transports.join(", ")}, server ${target.baseUrl}`,
  );
  for (const [requirement, count] of unmetRequirements(cases, command.profile, features, command.filters, available)) {
    print(`note: ${count} cases need ${requirementText[requirement]} and are left out`);
  }
  let results: CaseResult[];
  try {
    results = await runCases({
      target,
      profile: command.profile,
      features,
      cases,
      knownFailing,
      filters: command.filters,
      concurrency: command.concurrency,
    });
  } finally {
    await spawned?.stop();
  }
  const header: ReportHeader = {
    command: "cases",
    profile: command.profile,
    features: features.name,
    server: target.baseUrl,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
  };
  return finish(results, header, command.report, knownFailing, names, print);
}

const requirementText = {
  nats: "the NATS plane (nats: true in the features file)",
  livekit: "the server's LiveKit credentials (--livekit-api-key and --livekit-api-secret, or --spawn)",
  "no-livekit": "a server without a media server (--no-livekit)",
} as const;

async function runVectorsCommand(
  command: Extract<CliCommand, { command: "vectors" }>,
  print: (line: string) => void,
): Promise<number> {
  const knownFailing = command.knownFailing ? loadKnownFailing(command.knownFailing) : undefined;
  const started = new Date();
  const results = await runVectorFiles({ files: [...builtInVectorFiles, ...command.vectorFiles], knownFailing });
  print(`pnm-conformance: ${results.length} vectors`);
  const header: ReportHeader = {
    command: "vectors",
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
  };
  return finish(
    results,
    header,
    command.report,
    knownFailing,
    results.map((r) => r.case),
    print,
  );
}

function finish(
  results: CaseResult[],
  header: ReportHeader,
  reportFile: string | undefined,
  knownFailing: KnownFailing | undefined,
  names: string[],
  print: (line: string) => void,
): number {
  for (const result of results) {
    const line = failureLine(result);
    if (line) print(line);
  }
  for (const pattern of knownFailing?.unused(names) ?? [])
    print(`note: known-failing entry "${pattern}" matches no case of this run`);
  if (reportFile) writeReport(reportFile, header, results);
  const counts = tally(results);
  for (const line of summaryLines(counts)) print(line);
  return counts.failed === 0 ? 0 : 1;
}

function checkKeysFile(file: string, print: (line: string) => void): number {
  const keys = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const verdict = checkRoomKeySet(keys);
  print(
    verdict.outcome === "valid"
      ? `${keys.length} keys: valid`
      : `${keys.length} keys: ${verdict.outcome} (${verdict.detail})`,
  );
  return verdict.outcome === "valid" ? 0 : 1;
}
