import { Code } from "@connectrpc/connect";
import type { Expectation } from "../cases/case-types.js";
import { failureTable, type ReasonName } from "../failure-table.js";
import type { Operation } from "../operations.js";
import type { Profile } from "../profiles.js";
import type { CallOutcome } from "../wire/call-types.js";
import { match } from "./matchers.js";

// What a caller must never see in an error: stack frames, source locations,
// dependency paths. A refusal says what was wrong with the request, no more.
const leakPatterns: RegExp[] = [
  /\n\s*at\s/,
  /\bat\s+\S+\s+\(\S+:\d+:\d+\)/,
  /[\w.-]+\.(?:ts|js|mjs|cjs|go|py|java|rb):\d+/,
  /node_modules/,
  /goroutine \d+/,
  /Traceback \(most recent call last\)/,
];

/**
 * Checks one answer against a step's expectation. Wire facts that upstream
 * also guarantees are checked in every profile; pnm's additions (the
 * `pnm-failure-reason` header, ErrorDetail, typed violations, no leaked
 * internals) only in the pnm profile. Returns what differs.
 */
export function checkOutcome(op: Operation, expect: Expectation, outcome: CallOutcome, profile: Profile): string[] {
  const problems =
    outcome.transport === "rest" ? checkRest(op, expect, outcome, profile) : checkRpc(op, expect, outcome, profile);
  if (problems.length === 0 && expect.fields) {
    if (!outcome.body) problems.push("there is no answer body to compare fields with");
    else problems.push(...match(expect.fields, outcome.body));
  }
  return problems;
}

function checkRest(op: Operation, expect: Expectation, outcome: CallOutcome, profile: Profile): string[] {
  const { outcome: wanted } = expect;
  const signed = op.auth === "signature";
  if (outcome.httpStatus === undefined) return [outcome.unreadable ?? "no answer"];
  const body = outcome.body;
  const got = () =>
    `HTTP ${outcome.httpStatus}` +
    (body
      ? ` status ${String(body.status)}${signed ? ` status_code ${String(body.status_code)}` : ""} msg ${quote(body.msg)}`
      : "") +
    (outcome.reasonHeader ? ` (pnm-failure-reason ${outcome.reasonHeader})` : "") +
    (outcome.unreadable ? ` (${outcome.unreadable})` : "");

  if ("ok" in wanted) {
    if (outcome.httpStatus !== 200 || !body || body.status !== true || (signed && body.status_code !== "SUCCESS")) {
      return [`expected success, got ${got()}`];
    }
    return [];
  }
  if ("any" in wanted)
    return outcome.httpStatus === 200 && body ? [] : [`expected an answer with HTTP 200, got ${got()}`];

  const reason = wanted.failure;
  const form = failureTable.get(reason)!;
  const status = signed ? form.restStatus : form.verifyStatus;
  const msg = signed ? form.restMsg : form.verifyMsg;
  if (body?.status === true) return [`expected failure ${reason}, got success (${got()})`];
  const problems: string[] = [];
  if (outcome.httpStatus !== status) problems.push(`expected HTTP ${status}, got ${got()}`);
  if (outcome.unreadable && !(reason === "BODY_TOO_LARGE" && profile === "upstream")) problems.push(outcome.unreadable);
  if (body) {
    if (body.status !== false) problems.push(`expected status false, got ${JSON.stringify(body.status)}`);
    if (signed && body.status_code !== form.statusCode)
      problems.push(`expected status_code ${form.statusCode}, got ${JSON.stringify(body.status_code)}`);
    if (msg !== undefined && body.msg !== msg)
      problems.push(`expected msg ${JSON.stringify(msg)}, got ${quote(body.msg)}`);
    for (const text of [...expect.violations, ...expect.messageContains]) {
      if (typeof body.msg !== "string" || !body.msg.includes(text))
        problems.push(`expected msg to contain ${JSON.stringify(text)}, got ${quote(body.msg)}`);
    }
  }
  if (profile === "pnm") {
    if (outcome.reasonHeader !== reason)
      problems.push(`expected pnm-failure-reason ${reason}, got ${outcome.reasonHeader ?? "none"}`);
    problems.push(...leaks(outcome.text));
  }
  return problems;
}

function checkRpc(op: Operation, expect: Expectation, outcome: CallOutcome, profile: Profile): string[] {
  const { outcome: wanted } = expect;
  const error = outcome.error;
  const got = () =>
    error
      ? `${codeName(error.code)}${error.reason ? ` [${error.reason}]` : ""}: ${quote(error.message)}`
      : `success (status ${String(outcome.body?.status)})`;
  const hasStatusCode = op.output.fields.some((f) => f.name === "status_code");

  if ("ok" in wanted) {
    if (error || outcome.body?.status !== true || (hasStatusCode && outcome.body.status_code !== "SUCCESS"))
      return [`expected success, got ${got()}`];
    return [];
  }
  if ("any" in wanted) return error ? [`expected an answer, got ${got()}`] : [];

  const reason: ReasonName = wanted.failure;
  const form = failureTable.get(reason)!;
  if (!error) return [`expected failure ${reason}, got ${got()}`];
  const problems: string[] = [];
  if (error.code !== form.code) problems.push(`expected code ${codeName(form.code)}, got ${got()}`);
  for (const text of [...expect.violations, ...expect.messageContains]) {
    if (!error.message.includes(text))
      problems.push(`expected the message to contain ${JSON.stringify(text)}, got ${quote(error.message)}`);
  }
  if (profile === "pnm") {
    if (error.reason !== reason)
      problems.push(`expected ErrorDetail reason ${reason}, got ${error.reason ?? "no ErrorDetail"}`);
    else if (error.statusCode !== form.statusCode)
      problems.push(`expected ErrorDetail status_code ${form.statusCode}, got ${error.statusCode ?? "none"}`);
    for (const path of expect.violations) {
      if (!error.violations.includes(path))
        problems.push(`expected a buf.validate.Violations detail for ${path}, got [${error.violations.join(", ")}]`);
    }
    problems.push(...leaks(error.message));
  }
  return problems;
}

function leaks(text: string): string[] {
  const found = leakPatterns.find((p) => p.test(text));
  return found ? [`error text leaks internals (matches ${found}): ${quote(text)}`] : [];
}

/** A text quoted for a reason line, cut short: reasons are one line each. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 120 ? `${text.slice(0, 117)}..."` : text;
}

function codeName(code: Code): string {
  return Code[code] ?? String(code);
}
