import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { decodeCompact } from "../tokens/jwt.js";

/**
 * What matchers may need besides the two values: LiveKit tokens found in the
 * answer, verified beforehand (verification is asynchronous; matching is not).
 */
export interface MatchContext {
  /** token → its verified claims, or why it did not verify; undefined: the run knows no LiveKit credentials. */
  liveKit?: ReadonlyMap<string, { claims: JsonObject } | { error: string }>;
}

/**
 * Compares an answer with a case's expectation. Objects match partially
 * (fields the case leaves out are not checked), lists element by element,
 * scalars exactly, except that a number matches the same number written as a
 * string (protojson writes 64-bit integers as strings). An object whose keys
 * start with `$` is a matcher; the list is in README.md.
 * Returns what differs, one message per difference.
 */
export function match(
  expected: JsonValue,
  actual: JsonValue | undefined,
  path = "",
  context: MatchContext = {},
): string[] {
  const at = path || "answer";
  if (isMatcher(expected)) return matchOperators(expected, actual, at, context);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected a list, got ${show(actual)}`];
    if (actual.length !== expected.length) return [`${at}: expected ${expected.length} items, got ${actual.length}`];
    return expected.flatMap((e, i) => match(e, actual[i], `${at}[${i}]`, context));
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || actual === undefined || typeof actual !== "object" || Array.isArray(actual))
      return [`${at}: expected an object, got ${show(actual)}`];
    const object = actual as JsonObject;
    return Object.entries(expected as JsonObject).flatMap(([k, e]) =>
      match(e, object[k], path ? `${path}.${k}` : k, context),
    );
  }
  return scalarEquals(expected, actual) ? [] : [`${at}: expected ${show(expected)}, got ${show(actual)}`];
}

function matchOperators(
  expected: { [key: string]: JsonValue },
  actual: JsonValue | undefined,
  at: string,
  context: MatchContext,
): string[] {
  const problems: string[] = [];
  for (const [op, arg] of Object.entries(expected)) {
    switch (op) {
      case "$absent":
        if (actual !== undefined && actual !== null) problems.push(`${at}: expected no value, got ${show(actual)}`);
        break;
      case "$present":
        if (actual === undefined || actual === null) problems.push(`${at}: expected a value, got none`);
        break;
      case "$nonEmpty":
        if (!((typeof actual === "string" || Array.isArray(actual)) && actual.length > 0))
          problems.push(`${at}: expected a non-empty value, got ${show(actual)}`);
        break;
      case "$matches":
        if (typeof actual !== "string" || !new RegExp(String(arg)).test(actual))
          problems.push(`${at}: expected to match /${String(arg)}/, got ${show(actual)}`);
        break;
      case "$contains":
        if (typeof actual !== "string" || !actual.includes(String(arg)))
          problems.push(`${at}: expected to contain ${show(arg)}, got ${show(actual)}`);
        break;
      case "$ne":
        if (match(arg, actual, at, context).length === 0) problems.push(`${at}: expected anything but ${show(arg)}`);
        break;
      case "$json": {
        const parsed = typeof actual === "string" ? parseJson(actual) : undefined;
        if (parsed === undefined) problems.push(`${at}: expected a JSON string, got ${show(actual)}`);
        else problems.push(...match(arg, parsed, `${at}(json)`, context));
        break;
      }
      case "$jwt": {
        const decoded = typeof actual === "string" ? decodeCompact(actual) : undefined;
        if (!decoded) problems.push(`${at}: expected a JWT, got ${show(actual)}`);
        else problems.push(...match(arg, decoded.claims, `${at}(claims)`, context));
        break;
      }
      case "$livekit": {
        if (!context.liveKit) {
          problems.push(`${at}: cannot verify a LiveKit token: the run knows no LiveKit API key and secret`);
          break;
        }
        const verified = typeof actual === "string" ? context.liveKit.get(actual) : undefined;
        if (!verified) problems.push(`${at}: expected a LiveKit token, got ${show(actual)}`);
        else if ("error" in verified) problems.push(`${at}: LiveKit does not accept the token: ${verified.error}`);
        else problems.push(...match(arg, verified.claims, `${at}(livekit)`, context));
        break;
      }
      default:
        problems.push(`${at}: unknown matcher ${op}`);
    }
  }
  return problems;
}

function isMatcher(value: JsonValue): value is { [key: string]: JsonValue } {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((k) => k.startsWith("$"))
  );
}

function scalarEquals(expected: JsonValue, actual: JsonValue | undefined): boolean {
  if (expected === actual) return true;
  if (typeof expected === "number" && typeof actual === "string")
    return actual.trim() !== "" && Number(actual) === expected;
  return false;
}

function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

function show(value: JsonValue | undefined): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
