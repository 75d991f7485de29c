import { writeFileSync } from "node:fs";
import type { CaseResult } from "./run/runner.js";

/** How a run's cases came out. */
export interface Tally {
  /** Cases that passed and are not listed as known failing. */
  passed: number;
  /** Failed cases not listed as known failing, plus listed cases that passed. */
  failed: number;
  /** Listed cases that failed, as expected; they do not fail the run. */
  knownFailing: number;
}

/** Counts a run's results. */
export function tally(results: readonly CaseResult[]): Tally {
  const count = (...kinds: CaseResult["result"][]) => results.filter((r) => kinds.includes(r.result)).length;
  return { passed: count("passed"), failed: count("failed", "unexpected-pass"), knownFailing: count("known-failing") };
}

/** The console line for a result that fails the run; undefined for the others. */
export function failureLine(result: CaseResult): string | undefined {
  return result.result === "failed" || result.result === "unexpected-pass"
    ? `FAIL ${result.case}: ${result.reason}`
    : undefined;
}

/** The closing lines; the last one is always `N passed, M failed`. */
export function summaryLines(t: Tally): string[] {
  const lines = t.knownFailing > 0 ? [`${t.knownFailing} known failing (listed, still failing)`] : [];
  return [...lines, `${t.passed} passed, ${t.failed} failed`];
}

/** What the JSON report says about the run before its results. */
export interface ReportHeader {
  /** What was run: behavioural cases against a server, or the test vectors. */
  command: "cases" | "vectors";
  /** The profile of a cases run. */
  profile?: string;
  /** The features file of a cases run. */
  features?: string;
  /** The URL of the server under test. */
  server?: string;
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** How long the run took, in ms. */
  durationMs: number;
}

/** Writes the JSON report (header, summary tally, every case's result), replacing `file`. */
export function writeReport(file: string, header: ReportHeader, results: readonly CaseResult[]): void {
  const report = { tool: "pnm-conformance", ...header, summary: tally(results), cases: results };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
