import { randomBytes } from "node:crypto";
import type { CaseDefinition, Requirement } from "../cases/case-types.js";
import type { Features } from "../features.js";
import type { KnownFailing } from "../known-failing.js";
import type { LiveKitCredentials } from "../livekit.js";
import { type Profile, profileIncludes } from "../profiles.js";
import { createWire } from "../wire/wire.js";
import { describeDiscoveryFailure, discoverNats, type NatsTarget } from "./nats-target.js";
import { type ExpandedCase, runCase } from "./run-case.js";

/** The server under test: where it is, its API credentials, and what the run knows of its NATS and LiveKit. */
export interface ServerTarget {
  /** The server's URL. */
  baseUrl: string;
  /** The server's API key. */
  apiKey: string;
  /** The server's API secret, to sign calls and forge tokens with. */
  apiSecret: string;
  /** The WebSocket URL participants use; default: the first `nats_ws_urls` entry of VerifyToken's answer. */
  natsUrl?: string;
  /** The server's LiveKit credentials; `absent`: the server has no media server; undefined: unknown. */
  liveKit?: LiveKitCredentials | "absent";
}

/** `known-failing`: listed and failed, as expected; `unexpected-pass`: listed but passed, which fails the run so the list stays true. */
export type CaseResultKind = "passed" | "failed" | "known-failing" | "unexpected-pass";

/** How one expanded case (or vector) came out. */
export interface CaseResult {
  /** The expanded case's name (`…/transport:<t>`), or `vectors/<kind>/<name>`. */
  case: string;
  /** How it came out, with the known-failing list applied. */
  result: CaseResultKind;
  /** How long it ran, in ms. */
  durationMs: number;
  /** Why it failed (for known-failing ones too), or why a listed case passing fails the run. */
  reason?: string;
}

/** What `runCases` runs, against which server. */
export interface RunOptions {
  /** The server under test. */
  target: ServerTarget;
  /** Which cases run: `upstream` ones only, or `pnm` ones too. */
  profile: Profile;
  /** The transports and planes the server offers; cases expand over these only. */
  features: Features;
  /** The cases as loaded. */
  cases: CaseDefinition[];
  /** Cases expected to fail; default none. */
  knownFailing?: KnownFailing;
  /** Only cases whose expanded name contains one of these. */
  filters?: string[];
  /** Cases in flight at once; default 8. */
  concurrency?: number;
  /** Called as each case finishes, in finishing order. */
  onResult?: (result: CaseResult) => void;
}

/** What the features file and the run offer the cases' `requires`. */
export function availableRequirements(features: Features, target?: Pick<ServerTarget, "liveKit">): Set<Requirement> {
  const available = new Set<Requirement>();
  if (features.nats) available.add("nats");
  if (target?.liveKit === "absent") available.add("no-livekit");
  else if (target?.liveKit) available.add("livekit");
  return available;
}

/**
 * Every case of the profile whose requirements are met, once per transport
 * that both the case and the features allow.
 */
export function expandCases(
  cases: CaseDefinition[],
  profile: Profile,
  features: Features,
  filters: string[] = [],
  available: ReadonlySet<Requirement> = availableRequirements(features),
): ExpandedCase[] {
  const expanded: ExpandedCase[] = [];
  for (const definition of cases) {
    if (!profileIncludes(profile, definition.profile)) continue;
    if (!definition.requires.every((r) => available.has(r))) continue;
    for (const transport of definition.transports) {
      if (!features.transports.includes(transport)) continue;
      const name = `${definition.name}/transport:${transport}`;
      if (filters.length > 0 && !filters.some((f) => name.includes(f))) continue;
      expanded.push({ name, definition, transport, index: expanded.length });
    }
  }
  return expanded;
}

/** Expanded cases left out because a requirement is not met, counted by the first unmet requirement. */
export function unmetRequirements(
  cases: CaseDefinition[],
  profile: Profile,
  features: Features,
  filters: string[],
  available: ReadonlySet<Requirement>,
): Map<Requirement, number> {
  const all = new Set<Requirement>(["nats", "livekit", "no-livekit"]);
  const skipped = new Map<Requirement, number>();
  for (const c of expandCases(cases, profile, features, filters, all)) {
    const missing = c.definition.requires.find((r) => !available.has(r));
    if (missing) skipped.set(missing, (skipped.get(missing) ?? 0) + 1);
  }
  return skipped;
}

/** Runs every expanded case, `concurrency` at a time, and returns the results in expansion order. */
export async function runCases(options: RunOptions): Promise<CaseResult[]> {
  const { target } = options;
  const available = availableRequirements(options.features, target);
  const expanded = expandCases(options.cases, options.profile, options.features, options.filters, available);
  const wire = createWire(target);
  const runId = `c${randomBytes(4).toString("hex")}`;
  let nats: NatsTarget | { error: string } | undefined;
  if (expanded.some((c) => c.definition.requires.includes("nats"))) {
    nats = await discoverNats(wire, options.features.transports[0]!, runId, target.natsUrl).catch((err: unknown) => ({
      error: describeDiscoveryFailure(err),
    }));
  }
  const context = {
    wire,
    profile: options.profile,
    runId,
    baseUrl: target.baseUrl,
    apiKey: target.apiKey,
    apiSecret: target.apiSecret,
    nats,
    liveKit: typeof target.liveKit === "object" ? target.liveKit : undefined,
  };
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

/** A case's result from its failure reason (undefined: passed), with the known-failing list applied. */
export function classify(
  name: string,
  reason: string | undefined,
  durationMs: number,
  knownFailing?: KnownFailing,
): CaseResult {
  const listed = knownFailing?.matches(name) ?? false;
  if (reason === undefined) {
    return listed
      ? {
          case: name,
          result: "unexpected-pass",
          durationMs,
          reason: "listed as known failing but passed; remove it from the list",
        }
      : { case: name, result: "passed", durationMs };
  }
  return { case: name, result: listed ? "known-failing" : "failed", durationMs, reason };
}
