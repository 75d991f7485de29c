import { readFileSync } from "node:fs";
import { DefinitionError } from "./errors.js";

/**
 * Case names expected to fail, one per line, `#` starting a comment. `*`
 * matches within one name segment (between slashes), `**` across segments,
 * so `body/malformed-json/**` lists that case on every transport.
 */
export interface KnownFailing {
  /** Whether the case is listed as expected to fail. */
  matches(caseName: string): boolean;
  /** Patterns that matched no case of the run: stale entries worth removing. */
  unused(caseNames: readonly string[]): string[];
}

/** Reads a known-failing list from its text. */
export function parseKnownFailing(text: string): KnownFailing {
  const patterns = text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((pattern) => ({ pattern, regex: toRegex(pattern) }));
  return {
    matches: (name) => patterns.some((p) => p.regex.test(name)),
    unused: (names) => patterns.filter((p) => !names.some((n) => p.regex.test(n))).map((p) => p.pattern),
  };
}

/** Reads a known-failing list file; throws DefinitionError when it cannot be read. */
export function loadKnownFailing(file: string): KnownFailing {
  try {
    return parseKnownFailing(readFileSync(file, "utf8"));
  } catch (err) {
    throw new DefinitionError(file, `cannot read known-failing list: ${(err as Error).message}`, { cause: err });
  }
}

function toRegex(pattern: string): RegExp {
  const source = pattern
    .split("**")
    .map((part) => part.split("*").map(escapeRegExp).join("[^/]*"))
    .join(".*");
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
