import { writeFileSync } from "node:fs";
import type { CaseResult } from "./run/runner.js";

export interface Tally {
  passed: number;
  /** Failed cases not listed as known failing, plus listed cases that passed. */
  failed: number;
  knownFailing: number;
}

export function tally(results: readonly CaseResult[]): Tally {
  const count = (...kinds: CaseResult["result"][]) => results.filter((r) => kinds.includes(r.result)).length;
  return { passed: count("passed"), failed: count("failed", "unexpected-pass"), knownFailing: count("known-failing") };
}

/** The console line for a result that fails the run; undefined for the others. */
export function failureLine(result: CaseResult): string | undefined {
  return result.result === "failed" || result.result === "unexpected-pass" ? `FAIL ${result.case}: ${result.reason}` : undefined;
}

/** The closing lines; the last one is always `N passed, M failed`. */
export function summaryLines(t: Tally): string[] {
  const lines = t.knownFailing > 0 ? [`${t.knownFailing} known failing (listed, still failing)`] : [];
  return [...lines, `${t.passed} passed, ${t.failed} failed`];
}

export interface ReportHeader {
  command: "cases" | "vectors";
  profile?: string;
  features?: string;
  server?: string;
  startedAt: string;
  durationMs: number;
}

export function writeReport(file: string, header: ReportHeader, results: readonly CaseResult[]): void {
  const report = { tool: "pnm-conformance", ...header, summary: tally(results), cases: results };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
