import { fileURLToPath } from "node:url";
import { loadCaseDirectory } from "../../src/cases/load-cases.js";
import { loadFeatures } from "../../src/features.js";
import { loadKnownFailing } from "../../src/known-failing.js";
import { type CaseResult, runCases, type ServerTarget } from "../../src/run/runner.js";

const conformanceDir = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export const knownFailingFile = conformanceDir("known-failing/pnm-server.txt");

/** The full pnm-profile run over every transport, with pnm's known-failing list, as CI runs it. */
export function runHarness(target: ServerTarget): Promise<CaseResult[]> {
  return runCases({
    target,
    profile: "pnm",
    features: loadFeatures(conformanceDir("features/pnm.yaml")),
    cases: loadCaseDirectory(conformanceDir("cases")),
    knownFailing: loadKnownFailing(knownFailingFile),
  });
}

/** Results that fail the run: failures not listed, and listed cases that passed. */
export function unexpected(results: CaseResult[]): CaseResult[] {
  return results.filter((r) => r.result === "failed" || r.result === "unexpected-pass");
}

/** Every transport's expansion of the given case names. */
export function onEveryTransport(...names: string[]): string[] {
  return names
    .flatMap((n) => ["rest", "connect-json", "connect-proto", "grpc-web", "grpc"].map((t) => `${n}/transport:${t}`))
    .sort();
}
