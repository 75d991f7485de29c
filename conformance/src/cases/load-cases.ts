import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DefinitionError } from "../errors.js";
import { isReasonName, type ReasonName } from "../failure-table.js";
import { operations } from "../operations.js";
import { isProfile, isTransport, transports } from "../profiles.js";
import type { AuthFault } from "../wire/call-types.js";
import {
  type AnswerExpectation,
  type CallStep,
  type CaseDefinition,
  type DeliveryExpectation,
  type Expectation,
  type ParticipantStep,
  type Requirement,
  requirements,
  type Step,
  type TokenSpec,
} from "./case-types.js";

const caseName = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\/[a-z0-9]+(?:-[a-z0-9]+)*)+$/;
const apiKeyFaults: readonly string[] = ["missing", "empty", "wrong", "case-changed"];
const signatureFaults: readonly string[] = ["missing", "empty", "upper-case", "other-secret", "truncated", "extra-digit", "not-hex", "other-body", "whole-frame"];
const signAlgorithms: readonly string[] = ["HS256", "HS384", "HS512", "none"];
const participantName = /^[a-z][a-z0-9_]*$/;
const participantKinds = ["connect", "connect_many", "close", "connection", "subscribe", "publish", "received", "send", "join_session", "send_chat", "leave"];
const stepKinds = ["call", ...participantKinds];

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
  const c = r.object(value, where, ["name", "profile", "purpose", "transports", "requires", "steps"]);
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
  const needs =
    c.requires === undefined
      ? []
      : r.list(c.requires, `${at}: requires`).map((q) => r.oneOf(q, `${at}: requires`, requirements) as Requirement);
  if (needs.includes("livekit") && needs.includes("no-livekit")) r.fail(`${at}: requires livekit and no-livekit exclude each other`);
  if ((needs.includes("livekit") || needs.includes("no-livekit")) && !needs.includes("nats")) r.fail(`${at}: media requirements go with nats`);
  const steps = r.list(c.steps, `${at}: steps`).map((s, i) => readStep(r, s, `${at}: steps[${i}]`));
  if (steps.length === 0) r.fail(`${at}: needs at least one step`);
  if (steps.some((s) => s.kind !== "call") && !needs.includes("nats")) r.fail(`${at}: participant steps need requires: [nats]`);
  if (steps.some((s) => s.kind === "call" && s.auth.signature === "whole-frame") && caseTransports.some((t) => t !== "grpc" && t !== "grpc-web")) {
    r.fail(`${at}: signature whole-frame spoils a message envelope; only grpc and grpc-web have one`);
  }
  if (steps.some((s) => s.kind === "join-session") && caseTransports.includes("rest")) {
    r.fail(`${at}: join_session calls VerifyToken through the client SDK, which speaks the RPC protocols only; leave rest out of transports`);
  }
  return { name, profile, purpose, transports: caseTransports, requires: needs, steps, file: r.file };
}

function readStep(r: Reader, value: unknown, where: string): Step {
  const record = r.object(value, where);
  const kinds = stepKinds.filter((k) => k in record);
  if (kinds.length !== 1) r.fail(`${where}: a step has exactly one of ${stepKinds.join(", ")}`);
  return kinds[0] === "call" ? readCallStep(r, record, where) : readParticipantStep(r, record, kinds[0]!, where);
}

function readCallStep(r: Reader, value: unknown, where: string): CallStep {
  const s = r.object(value, where, ["call", "request", "raw", "auth", "token", "expect", "save"]);
  const call = r.string(s.call, `${where}.call`);
  const op = operations.get(call);
  if (!op) r.fail(`${where}.call: unknown operation "${call}"; known: ${[...operations.keys()].join(", ")}`);
  const step: CallStep = {
    kind: "call",
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

function readParticipantStep(r: Reader, s: Record<string, unknown>, kind: string, where: string): ParticipantStep {
  const name = (value: unknown, at: string) => {
    const text = r.string(value, at);
    if (!participantName.test(text)) r.fail(`${at}: a participant name is lower-case letters, digits and _, starting with a letter`);
    return text;
  };
  const keys = (allowed: string[]) => r.object(s, where, [kind, ...allowed]);
  const ms = (value: unknown, at: string, fallback: number) => (value === undefined ? fallback : r.positiveInteger(value, at));
  switch (kind) {
    case "connect": {
      keys(["token", "inbox_prefix", "expect"]);
      return {
        kind,
        participant: name(s.connect, `${where}.connect`),
        token: readToken(r, s.token, `${where}.token`),
        inboxPrefix: s.inbox_prefix === undefined ? undefined : r.string(s.inbox_prefix, `${where}.inbox_prefix`),
        expect: r.oneOf(s.expect, `${where}.expect`, ["admitted", "refused"]) as "admitted" | "refused",
      };
    }
    case "connect_many": {
      keys(["count", "room", "expect"]);
      const expect = r.object(s.expect, `${where}.expect`, ["admitted"]);
      const count = r.positiveInteger(s.count, `${where}.count`);
      const admitted = r.integer(expect.admitted, `${where}.expect.admitted`);
      if (admitted > count) r.fail(`${where}: cannot admit more than count`);
      return { kind: "connect-many", prefix: name(s.connect_many, `${where}.connect_many`), count, room: r.string(s.room, `${where}.room`), admitted };
    }
    case "close":
    case "leave":
      keys([]);
      return { kind, participant: name(s[kind], `${where}.${kind}`) };
    case "connection": {
      keys(["expect", "within_ms", "reason"]);
      const reason = s.reason === undefined ? undefined : r.string(s.reason, `${where}.reason`);
      if (reason !== undefined && !isReasonName(reason)) r.fail(`${where}.reason: unknown FailureReason "${reason}"`);
      const expect = r.oneOf(s.expect, `${where}.expect`, ["closed", "open"]) as "closed" | "open";
      if (reason !== undefined && expect !== "closed") r.fail(`${where}: reason goes with expect: closed`);
      return { kind, participant: name(s.connection, `${where}.connection`), expect, withinMs: ms(s.within_ms, `${where}.within_ms`, 2_000), reason };
    }
    case "subscribe":
    case "publish": {
      keys(kind === "publish" ? ["subject", "payload", "envelope", "reply", "expect"] : ["subject", "expect"]);
      const expect = s.expect === undefined ? undefined : (r.oneOf(s.expect, `${where}.expect`, ["accepted", "refused"]) as "accepted" | "refused");
      const common = { participant: name(s[kind], `${where}.${kind}`), subject: r.string(s.subject, `${where}.subject`), expect };
      if (kind === "subscribe") return { kind, ...common };
      const reply = s.reply === undefined ? undefined : r.string(s.reply, `${where}.reply`);
      if ((s.payload === undefined) === (s.envelope === undefined)) r.fail(`${where}: give payload (text) or envelope, not both`);
      if (s.payload !== undefined) return { kind, ...common, payload: r.string(s.payload, `${where}.payload`, true), reply };
      const envelope = r.object(s.envelope, `${where}.envelope`, ["event", "msg"]);
      const event = r.oneOf(envelope.event, `${where}.envelope.event`, enumNames(NatsMsgClientToServerEvent));
      const msg = envelope.msg === undefined ? "" : r.string(envelope.msg, `${where}.envelope.msg`, true);
      return { kind, ...common, payload: { event: NatsMsgClientToServerEvent[event as keyof typeof NatsMsgClientToServerEvent], msg }, reply };
    }
    case "received": {
      keys(["subject", "within_ms", "expect"]);
      return {
        kind,
        participant: name(s.received, `${where}.received`),
        subject: s.subject === undefined ? undefined : r.string(s.subject, `${where}.subject`),
        withinMs: ms(s.within_ms, `${where}.within_ms`, 1_000),
        expect: readDelivery(r, s.expect, `${where}.expect`),
      };
    }
    case "send": {
      keys(["event", "msg", "worker", "within_ms", "expect", "save"]);
      const event = r.oneOf(s.event, `${where}.event`, enumNames(NatsMsgClientToServerEvent));
      const expect = readAnswer(r, s.expect, `${where}.expect`);
      return {
        kind: "request",
        participant: name(s.send, `${where}.send`),
        event: NatsMsgClientToServerEvent[event as keyof typeof NatsMsgClientToServerEvent],
        msg: s.msg === undefined ? undefined : readToken(r, s.msg, `${where}.msg`),
        worker: s.worker === undefined ? "core" : (r.oneOf(s.worker, `${where}.worker`, ["core", "js"]) as "core" | "js"),
        withinMs: ms(s.within_ms, `${where}.within_ms`, expect.none ? 1_000 : 5_000),
        expect,
        save: s.save === undefined ? {} : r.stringMap(s.save, `${where}.save`),
      };
    }
    case "join_session": {
      keys(["token", "passphrase", "expect"]);
      let expect: { joined: true } | { refused: ReasonName };
      if (s.expect === "joined") expect = { joined: true };
      else {
        const refused = r.string(r.object(s.expect, `${where}.expect`, ["refused"]).refused, `${where}.expect.refused`);
        if (!isReasonName(refused)) r.fail(`${where}.expect.refused: unknown FailureReason "${refused}"`);
        expect = { refused };
      }
      return {
        kind: "join-session",
        participant: name(s.join_session, `${where}.join_session`),
        token: readToken(r, s.token, `${where}.token`),
        passphrase: s.passphrase === undefined ? undefined : r.string(s.passphrase, `${where}.passphrase`),
        expect,
      };
    }
    case "send_chat":
      keys(["text"]);
      return { kind: "send-chat", participant: name(s.send_chat, `${where}.send_chat`), text: r.string(s.text, `${where}.text`) };
  }
  return r.fail(`${where}: unknown step kind ${kind}`);
}

function readDelivery(r: Reader, value: unknown, where: string): DeliveryExpectation {
  const e = r.object(value, where, ["contains", "not_contains", "nothing", "at_least", "envelope", "decryption_error"]);
  const texts = (v: unknown, at: string) => (v === undefined ? [] : typeof v === "string" ? [r.string(v, at)] : r.list(v, at).map((t, i) => r.string(t, `${at}[${i}]`)));
  const expect: DeliveryExpectation = {
    contains: texts(e.contains, `${where}.contains`),
    notContains: texts(e.not_contains, `${where}.not_contains`),
    nothing: e.nothing === undefined ? false : r.boolean(e.nothing, `${where}.nothing`),
    atLeast: e.at_least === undefined ? undefined : r.positiveInteger(e.at_least, `${where}.at_least`),
    envelope: e.envelope === undefined ? undefined : readAnswer(r, e.envelope, `${where}.envelope`),
    decryptionError: e.decryption_error === undefined ? false : r.boolean(e.decryption_error, `${where}.decryption_error`),
  };
  if (expect.envelope?.none) r.fail(`${where}.envelope: none belongs to send steps`);
  const positive = expect.contains.length > 0 || expect.atLeast !== undefined || expect.envelope !== undefined || expect.decryptionError;
  if (expect.nothing && (expect.contains.length > 0 || expect.atLeast !== undefined || expect.envelope !== undefined)) r.fail(`${where}: nothing excludes contains, at_least and envelope`);
  if (!positive && !expect.nothing && expect.notContains.length === 0) r.fail(`${where}: state what must or must not arrive`);
  return expect;
}

function readAnswer(r: Reader, value: unknown, where: string): AnswerExpectation {
  const e = r.object(value, where, ["event", "none", "msg", "renewal_failure", "error_detail", "initial_data", "media"]);
  const reason = (v: unknown, at: string) => {
    if (v === undefined) return undefined;
    const text = r.string(v, at);
    if (!isReasonName(text)) r.fail(`${at}: unknown FailureReason "${text}"`);
    return text;
  };
  const event = r.oneOf(e.event, `${where}.event`, enumNames(NatsMsgServerToClientEvent));
  const answer: AnswerExpectation = {
    event: NatsMsgServerToClientEvent[event as keyof typeof NatsMsgServerToClientEvent],
    none: e.none === undefined ? false : r.boolean(e.none, `${where}.none`),
    msg: e.msg as JsonValue | undefined,
    renewalFailure: reason(e.renewal_failure, `${where}.renewal_failure`),
    errorDetail: reason(e.error_detail, `${where}.error_detail`),
    initialData: e.initial_data === undefined ? undefined : (r.object(e.initial_data, `${where}.initial_data`) as JsonObject),
    media: e.media === undefined ? undefined : (r.object(e.media, `${where}.media`) as JsonObject),
  };
  const refusal = answer.renewalFailure !== undefined || answer.errorDetail !== undefined;
  const success = answer.initialData !== undefined || answer.media !== undefined;
  if (answer.renewalFailure !== undefined && answer.errorDetail !== undefined) r.fail(`${where}: renewal_failure and error_detail exclude each other`);
  if (refusal && success) r.fail(`${where}: a refusal has no initial_data or media`);
  if (answer.none && (refusal || success || answer.msg !== undefined)) r.fail(`${where}: none stands alone with event`);
  return answer;
}

/** An enum's value names as protobuf-es writes them (without the type prefix), zero value included. */
function enumNames(values: Record<string, string | number>): string[] {
  return Object.keys(values).filter((k) => Number.isNaN(Number(k)));
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

  integer(value: unknown, where: string): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) this.fail(`${where} must be a whole number`);
    return value;
  }

  positiveInteger(value: unknown, where: string): number {
    const n = this.integer(value, where);
    if (n < 1) this.fail(`${where} must be at least 1`);
    return n;
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
