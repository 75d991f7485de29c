import { randomBytes } from "node:crypto";
import type { CaseDefinition } from "../cases/case-types.js";
import type { Features } from "../features.js";
import type { KnownFailing } from "../known-failing.js";
import { profileIncludes, type Profile } from "../profiles.js";
import { createWire } from "../wire/wire.js";
import { type ExpandedCase, runCase } from "./run-case.js";

export interface ServerTarget {
  baseUrl: string;
  apiKey: string;
  apiSecret: string;
}

/** `known-failing`: listed and failed, as expected; `unexpected-pass`: listed but passed, which fails the run so the list stays true. */
export type CaseResultKind = "passed" | "failed" | "known-failing" | "unexpected-pass";

export interface CaseResult {
  case: string;
  result: CaseResultKind;
  durationMs: number;
  reason?: string;
}

export interface RunOptions {
  target: ServerTarget;
  profile: Profile;
  features: Features;
  cases: CaseDefinition[];
  knownFailing?: KnownFailing;
  /** Only cases whose expanded name contains one of these. */
  filters?: string[];
  /** Cases in flight at once; default 8. */
  concurrency?: number;
  onResult?: (result: CaseResult) => void;
}

/** Every case of the profile, once per transport that both the case and the features allow. */
export function expandCases(cases: CaseDefinition[], profile: Profile, features: Features, filters: string[] = []): ExpandedCase[] {
  const expanded: ExpandedCase[] = [];
  for (const definition of cases) {
    if (!profileIncludes(profile, definition.profile)) continue;
    for (const transport of definition.transports) {
      if (!features.transports.includes(transport)) continue;
      const name = `${definition.name}/transport:${transport}`;
      if (filters.length > 0 && !filters.some((f) => name.includes(f))) continue;
      expanded.push({ name, definition, transport, index: expanded.length });
    }
  }
  return expanded;
}

export async function runCases(options: RunOptions): Promise<CaseResult[]> {
  const expanded = expandCases(options.cases, options.profile, options.features, options.filters);
  const wire = createWire(options.target);
  const context = { wire, profile: options.profile, runId: `c${randomBytes(4).toString("hex")}`, ...options.target };
  const results: CaseResult[] = new Array(expanded.length);
  let next = 0;
  const worker = async () => {
    while (next < expanded.length) {
      const item = expanded[next++]!;
      const started = performance.now();
      const reason = await runCase(item, context);
      const result = classify(item.name, reason, Math.round(performance.now() - started), options.knownFailing);
      results[item.index] = result;
      options.onResult?.(result);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  } finally {
    wire.close();
  }
  return results;
}

export function classify(name: string, reason: string | undefined, durationMs: number, knownFailing?: KnownFailing): CaseResult {
  const listed = knownFailing?.matches(name) ?? false;
  if (reason === undefined) {
    return listed
      ? { case: name, result: "unexpected-pass", durationMs, reason: "listed as known failing but passed; remove it from the list" }
      : { case: name, result: "passed", durationMs };
  }
  return { case: name, result: listed ? "known-failing" : "failed", durationMs, reason };
}
