import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DefinitionError } from "../errors.js";
import { isReasonName } from "../failure-table.js";
import { operations } from "../operations.js";
import { isProfile, isTransport, transports } from "../profiles.js";
import type { AuthFault } from "../wire/call-types.js";
import type { CaseDefinition, Expectation, Step, TokenSpec } from "./case-types.js";

const caseName = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\/[a-z0-9]+(?:-[a-z0-9]+)*)+$/;
const apiKeyFaults: readonly string[] = ["missing", "empty", "wrong", "case-changed"];
const signatureFaults: readonly string[] = ["missing", "empty", "upper-case", "other-secret", "truncated", "extra-digit", "not-hex", "other-body"];
const signAlgorithms: readonly string[] = ["HS256", "HS384", "HS512", "none"];

/** Every `*.yaml` in `dir`, in name order; case names must be unique across them. */
export function loadCaseDirectory(dir: string): CaseDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  const cases = files.flatMap((f) => parseCaseFile(join(dir, f), readFileSync(join(dir, f), "utf8")));
  const seen = new Map<string, string>();
  for (const c of cases) {
    const other = seen.get(c.name);
    if (other) throw new DefinitionError(c.file, `case ${c.name} is also defined in ${other}`);
    seen.set(c.name, c.file);
  }
  return cases;
}

/**
 * Reads one case file: `{ cases: [...] }`, where other top-level keys must
 * start with `x-` and hold YAML anchors for the cases to reuse.
 */
export function parseCaseFile(file: string, text: string): CaseDefinition[] {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, uniqueKeys: true });
  } catch (err) {
    throw new DefinitionError(file, `not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const reader = new Reader(file);
  const top = reader.object(doc, "the document");
  for (const key of Object.keys(top)) if (key !== "cases" && !key.startsWith("x-")) reader.fail(`unknown top-level key "${key}"`);
  return reader.list(top.cases, "cases").map((c, i) => readCase(reader, c, `cases[${i}]`));
}

function readCase(r: Reader, value: unknown, where: string): CaseDefinition {
  const c = r.object(value, where, ["name", "profile", "purpose", "transports", "steps"]);
  const name = r.string(c.name, `${where}.name`);
  if (!caseName.test(name)) r.fail(`${where}.name "${name}" must look like group/kebab-case-name`);
  const at = `case ${name}`;
  const profile = r.string(c.profile, `${at}: profile`);
  if (!isProfile(profile)) r.fail(`${at}: profile must be upstream or pnm`);
  const purpose = r.string(c.purpose, `${at}: purpose`);
  if (!purpose.trim() || purpose.includes("\n")) r.fail(`${at}: purpose must be one non-empty line`);
  const caseTransports =
    c.transports === undefined
      ? [...transports]
      : r.list(c.transports, `${at}: transports`).map((t) => {
          if (!isTransport(t)) r.fail(`${at}: unknown transport "${String(t)}"`);
          return t;
        });
  if (caseTransports.length === 0) r.fail(`${at}: transports must not be empty`);
  const steps = r.list(c.steps, `${at}: steps`).map((s, i) => readStep(r, s, `${at}: steps[${i}]`));
  if (steps.length === 0) r.fail(`${at}: needs at least one step`);
  return { name, profile, purpose, transports: caseTransports, steps, file: r.file };
}

function readStep(r: Reader, value: unknown, where: string): Step {
  const s = r.object(value, where, ["call", "request", "raw", "auth", "token", "expect", "save"]);
  const call = r.string(s.call, `${where}.call`);
  const op = operations.get(call);
  if (!op) r.fail(`${where}.call: unknown operation "${call}"; known: ${[...operations.keys()].join(", ")}`);
  const step: Step = {
    call,
    request: s.request === undefined ? {} : (r.object(s.request, `${where}.request`) as JsonObject),
    auth: s.auth === undefined ? {} : readAuth(r, s.auth, `${where}.auth`),
    expect: readExpect(r, s.expect, `${where}.expect`),
    save: s.save === undefined ? {} : r.stringMap(s.save, `${where}.save`),
  };
  if (s.raw !== undefined) {
    const raw = r.object(s.raw, `${where}.raw`, ["json", "proto_hex"]);
    const protoHex = raw.proto_hex === undefined ? undefined : r.string(raw.proto_hex, `${where}.raw.proto_hex`);
    if (protoHex !== undefined && !/^(?:[0-9a-f]{2})*$/.test(protoHex)) r.fail(`${where}.raw.proto_hex must be lower-case hex`);
    step.raw = { json: raw.json === undefined ? undefined : r.string(raw.json, `${where}.raw.json`, true), protoHex };
  }
  if (s.token !== undefined) step.token = readToken(r, s.token, `${where}.token`);
  if (op.auth === "token" && s.auth !== undefined) r.fail(`${where}: ${call} is token-authenticated; use token, not auth`);
  if (op.auth === "signature" && s.token !== undefined) r.fail(`${where}: ${call} is signed; use auth, not token`);
  return step;
}

function readAuth(r: Reader, value: unknown, where: string): AuthFault {
  const a = r.object(value, where, ["api_key", "signature"]);
  const fault: AuthFault = {};
  if (a.api_key !== undefined) fault.apiKey = r.oneOf(a.api_key, `${where}.api_key`, apiKeyFaults) as AuthFault["apiKey"];
  if (a.signature !== undefined) fault.signature = r.oneOf(a.signature, `${where}.signature`, signatureFaults) as AuthFault["signature"];
  return fault;
}

function readToken(r: Reader, value: unknown, where: string): TokenSpec {
  if (typeof value === "string") return { kind: "literal", value, prefix: "", inQuery: false };
  const t = r.object(value, where, ["none", "value", "from", "claims", "header", "sign_with", "other_key", "tamper", "prefix", "in_query"]);
  if (t.none !== undefined) {
    if (t.none !== true || Object.keys(t).length > 1) r.fail(`${where}: none: true stands alone`);
    return { kind: "none" };
  }
  const prefix = t.prefix === undefined ? "" : r.string(t.prefix, `${where}.prefix`, true);
  const inQuery = t.in_query === undefined ? false : r.boolean(t.in_query, `${where}.in_query`);
  if (t.value !== undefined) {
    if (t.from !== undefined) r.fail(`${where}: give value or from, not both`);
    return { kind: "literal", value: r.string(t.value, `${where}.value`, true), prefix, inQuery };
  }
  return {
    kind: "derived",
    from: r.string(t.from, `${where}.from`),
    claims: t.claims === undefined ? {} : (r.object(t.claims, `${where}.claims`) as Record<string, JsonValue>),
    header: t.header === undefined ? {} : (r.object(t.header, `${where}.header`) as Record<string, JsonValue>),
    signWith: t.sign_with === undefined ? undefined : r.oneOf(t.sign_with, `${where}.sign_with`, signAlgorithms),
    otherKey: t.other_key === undefined ? false : r.boolean(t.other_key, `${where}.other_key`),
    tamper: t.tamper === undefined ? {} : (r.object(t.tamper, `${where}.tamper`) as Record<string, JsonValue>),
    prefix,
    inQuery,
  };
}

function readExpect(r: Reader, value: unknown, where: string): Expectation {
  const e = r.object(value, where, ["ok", "failure", "violations", "message_contains", "fields"]);
  if (e.ok !== undefined && e.failure !== undefined) r.fail(`${where}: ok and failure exclude each other`);
  let outcome: Expectation["outcome"] = { any: true };
  if (e.ok !== undefined) {
    if (e.ok !== true) r.fail(`${where}.ok can only be true; state a failure instead`);
    outcome = { ok: true };
  } else if (e.failure !== undefined) {
    const reason = r.string(e.failure, `${where}.failure`);
    if (!isReasonName(reason)) r.fail(`${where}.failure: unknown FailureReason "${reason}"`);
    outcome = { failure: reason };
  } else if (e.fields === undefined) {
    r.fail(`${where}: state ok, failure or fields`);
  }
  const violations = e.violations === undefined ? [] : r.list(e.violations, `${where}.violations`).map((v, i) => r.string(v, `${where}.violations[${i}]`));
  if (violations.length > 0 && !("failure" in outcome && outcome.failure === "INVALID_ARGUMENT")) {
    r.fail(`${where}: violations go with failure: INVALID_ARGUMENT`);
  }
  const messageContains =
    e.message_contains === undefined ? [] : r.list(e.message_contains, `${where}.message_contains`).map((v, i) => r.string(v, `${where}.message_contains[${i}]`));
  if (messageContains.length > 0 && !("failure" in outcome)) r.fail(`${where}: message_contains goes with a failure`);
  return { outcome, violations, messageContains, fields: e.fields === undefined ? undefined : (r.object(e.fields, `${where}.fields`) as JsonObject) };
}

/** Typed reads of parsed YAML; every failure names the file and the place. */
class Reader {
  constructor(readonly file: string) {}

  fail(message: string): never {
    throw new DefinitionError(this.file, message);
  }

  object(value: unknown, where: string, allowed?: string[]): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) this.fail(`${where} must be a mapping`);
    const record = value as Record<string, unknown>;
    if (allowed) for (const key of Object.keys(record)) if (!allowed.includes(key)) this.fail(`${where}: unknown key "${key}"; allowed: ${allowed.join(", ")}`);
    return record;
  }

  list(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) this.fail(`${where} must be a list`);
    return value;
  }

  string(value: unknown, where: string, allowEmpty = false): string {
    if (typeof value !== "string" || (!allowEmpty && value === "")) this.fail(`${where} must be a non-empty string`);
    return value;
  }

  boolean(value: unknown, where: string): boolean {
    if (typeof value !== "boolean") this.fail(`${where} must be true or false`);
    return value;
  }

  oneOf(value: unknown, where: string, allowed: readonly string[]): string {
    if (typeof value !== "string" || !allowed.includes(value)) this.fail(`${where} must be one of ${allowed.join(", ")}`);
    return value;
  }

  stringMap(value: unknown, where: string): Record<string, string> {
    const record = this.object(value, where);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, this.string(v, `${where}.${k}`)]));
  }
}
