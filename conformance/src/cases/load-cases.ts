import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createRegistry,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { isFieldError, type Path } from "@bufbuild/protobuf/reflect";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { createValidator, type Violation } from "@bufbuild/protovalidate";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { parse } from "yaml";
import { DefinitionError } from "../errors.js";
import { isReasonName, type ReasonName } from "../failure-table.js";
import {
  type AnswerExpectation as AnswerSchema,
  type CallExpectation,
  type CallStep as CallStepMessage,
  type Case,
  type CaseFile,
  CaseFileSchema,
  type DeliveryExpectation as DeliverySchema,
  type Step as StepMessage,
  StepSchema,
  type TokenSpec as TokenSchema,
  TokenSpecSchema,
} from "../gen/pnm/conformance/v1/case_pb.js";
import { file_pnm_conformance_v1_rules } from "../gen/pnm/conformance/v1/rules_pb.js";
import { operations } from "../operations.js";
import { type Transport, transports } from "../profiles.js";
import type { AuthFault } from "../wire/call-types.js";
import type {
  AnswerExpectation,
  CallStep,
  CaseDefinition,
  DeliveryExpectation,
  Expectation,
  Requirement,
  Step,
  TokenSpec,
} from "./case-types.js";

// Case files are checked in three passes, each reporting the file and the place:
// 1. decoding: the YAML, its conveniences resolved (see toCaseFileJson), must be
//    the protojson of pnm.conformance.v1.CaseFile (conformance/proto): no unknown
//    keys, values of the declared types;
// 2. the schema's protovalidate rules, single fields and cross-field CEL alike;
// 3. here in code, what needs tables outside the schema: operation names and
//    whether an operation takes `auth` or `token`, FailureReason names, and
//    NATS event names.

/** The case schema's rules; the registry carries its predefined rules (rules.proto). */
const validator = createValidator({ registry: createRegistry(file_pnm_conformance_v1_rules) });

/** The step kinds: the members of Step's oneof, by the key that selects each. */
const stepKinds: ReadonlyMap<string, DescField> = new Map(StepSchema.oneofs[0]!.fields.map((f) => [f.name, f]));

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
 * Reads one case file: the YAML form of `pnm.conformance.v1.CaseFile`
 * (conformance/proto/pnm/conformance/v1/case.proto), whose top-level keys
 * other than `cases` must start with `x-` and hold YAML anchors for the cases
 * to reuse. Throws a DefinitionError naming the file and the place: of the
 * first value that does not decode, else of every violation of the schema's
 * rules, else of the first name that is not in the tables checked in code.
 */
export function parseCaseFile(file: string, text: string): CaseDefinition[] {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, uniqueKeys: true });
  } catch (err) {
    throw new DefinitionError(file, `not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const fail = (message: string): never => {
    throw new DefinitionError(file, message);
  };
  const json = toCaseFileJson(doc, fail);
  const caseFile = decode(json, fail);
  const result = validator.validate(CaseFileSchema, caseFile);
  if (result.kind === "error")
    throw new DefinitionError(file, `the case schema's rules could not be evaluated: ${result.error.message}`, {
      cause: result.error,
    });
  if (result.kind === "invalid") fail(result.violations.map((v) => describeViolation(caseFile, v)).join("; "));
  return caseFile.cases.map((c, i) => readCase(c, new Reader(file, casePlace(caseFile, i))));
}

// ---------------------------------------------------------------------------
// Pass 1: the YAML conveniences, then protojson decoding with places.

/**
 * A place in a case file: the case it is in, if any, then field names, list
 * indexes and map keys, as the YAML writes them.
 */
interface Place {
  /** `case <name>`, or `cases[i]` for a case without a usable name. */
  readonly inCase?: string;
  readonly path: readonly (string | number)[];
}

const top: Place = { path: [] };
const inside = (place: Place, ...segments: (string | number)[]): Place => ({
  inCase: place.inCase,
  path: [...place.path, ...segments],
});

/** How a place reads in messages: `case group/name: steps[2].expect`. */
function describePlace(place: Place): string {
  const path = place.path.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
  if (place.inCase === undefined) return path === "" ? "the document" : path;
  return path === "" ? place.inCase : `${place.inCase}: ${path}`;
}

/** The place of the `index`th case of a decoded or still raw case file. */
function casePlace(caseFile: unknown, index: number): Place {
  const cases = isObject(caseFile) ? caseFile.cases : undefined;
  const name = Array.isArray(cases) ? (cases[index] as { name?: unknown } | undefined)?.name : undefined;
  return { inCase: typeof name === "string" && name !== "" ? `case ${name}` : `cases[${index}]`, path: [] };
}

/**
 * The place of a field's value: that of its message for the members of
 * Step's oneof, whose key the YAML writes beside the step's other keys.
 */
function fieldPlace(place: Place, field: DescField): Place {
  return field.parent.typeName === StepSchema.typeName ? place : inside(place, field.name);
}

/** The places of the values of a message-typed field: one, or one per list item or map entry. */
function valuePlaces(place: Place, field: DescField, value: unknown, doc: unknown): [Place, unknown][] {
  const here = fieldPlace(place, field);
  if (field.fieldKind === "list" && Array.isArray(value)) {
    return value.map((item, i) => [
      field.parent.typeName === CaseFileSchema.typeName ? casePlace(doc, i) : inside(here, i),
      item,
    ]);
  }
  if (field.fieldKind === "map" && isObject(value)) return Object.entries(value).map(([k, v]) => [inside(here, k), v]);
  return field.fieldKind === "message" ? [[here, value]] : [];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
const isWellKnown = (desc: DescMessage) => desc.typeName.startsWith("google.protobuf.");
const fieldByKey = (desc: DescMessage, key: string) => desc.fields.find((f) => f.name === key || f.jsonName === key);

/**
 * The protojson of CaseFile that a parsed case file stands for: `x-` keys
 * (anchors) dropped, each flat step moved under its kind's key
 * (`{ close: a }` becomes `{ close: { close: a } }`), and TokenSpecs written as
 * strings expanded to `{ value: ... }`. Anything else is left as it is, for
 * decoding to report.
 */
function toCaseFileJson(doc: unknown, fail: (message: string) => never): JsonValue {
  if (!isObject(doc)) return fail("the document must be a mapping with a cases list");
  const cases = Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith("x-")));
  return expand(CaseFileSchema, cases, top, doc, fail) as JsonValue;
}

function expand(
  desc: DescMessage,
  json: unknown,
  place: Place,
  doc: unknown,
  fail: (message: string) => never,
): unknown {
  if (desc.typeName === TokenSpecSchema.typeName && typeof json === "string") return { value: json };
  if (!isObject(json) || isWellKnown(desc)) return json;
  if (desc.typeName === StepSchema.typeName) {
    const kinds = Object.keys(json).filter((key) => stepKinds.has(key));
    if (kinds.length !== 1)
      fail(`${describePlace(place)}: a step has exactly one of ${[...stepKinds.keys()].join(", ")}`);
    const member = stepKinds.get(kinds[0]!)!;
    return { [member.name]: expand(member.message!, json, place, doc, fail) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldByKey(desc, key);
    const child = field?.message;
    if (!field || !child || isWellKnown(child)) {
      out[key] = value;
      continue;
    }
    const expanded = valuePlaces(place, field, value, doc).map(([at, v]) => expand(child, v, at, doc, fail));
    out[key] =
      field.fieldKind === "list" && Array.isArray(value)
        ? expanded
        : field.fieldKind === "map" && isObject(value)
          ? Object.fromEntries(Object.keys(value).map((k, i) => [k, expanded[i]]))
          : field.fieldKind === "message"
            ? expanded[0]
            : value;
  }
  return out;
}

/** Decodes the CaseFile; on failure, finds the innermost value that does not decode and names its place. */
function decode(json: JsonValue, fail: (message: string) => never): CaseFile {
  try {
    return fromJson(CaseFileSchema, json);
  } catch {
    const { place, message } = locateDecodeError(CaseFileSchema, json, top, json);
    return fail(`${describePlace(place)}: ${message}`);
  }
}

/** The place and reason of a decoding failure of `json` as `desc`, which is known to fail. */
function locateDecodeError(
  desc: DescMessage,
  json: JsonValue,
  place: Place,
  doc: JsonValue,
): { place: Place; message: string } {
  if (!isWellKnown(desc)) {
    if (!isObject(json)) return { place, message: `must be a mapping with keys ${keyList(desc)}` };
    for (const [key, value] of Object.entries(json)) {
      const field = fieldByKey(desc, key);
      if (!field && desc.typeName === CaseFileSchema.typeName)
        return {
          place,
          message: `unknown top-level key "${key}"; allowed: cases, and keys starting with x- for anchors`,
        };
      if (!field) return { place, message: `unknown key "${key}"; allowed: ${keyList(desc)}` };
      const child = field.message;
      if (!child || isWellKnown(child) || value === null) continue;
      for (const [at, item] of valuePlaces(place, field, value, doc) as [Place, JsonValue][]) {
        if (item === null) continue;
        try {
          fromJson(child, item);
        } catch {
          return locateDecodeError(child, item, at, doc);
        }
      }
    }
  }
  try {
    fromJson(desc, json);
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    if (isFieldError(cause)) {
      const at = cause.field();
      return at.kind === "field"
        ? { place: fieldPlace(place, at), message: describeValueError(at, cause.message) }
        : { place, message: cause.message };
    }
    return {
      place,
      message: err instanceof Error ? err.message.replace(/^cannot decode message \S+ from JSON: /, "") : String(err),
    };
  }
  return { place, message: "does not decode" };
}

/** A field's keys as a list for messages; Step's lists its kinds. */
function keyList(desc: DescMessage): string {
  return desc.typeName === StepSchema.typeName
    ? [...stepKinds.keys()].join(", ")
    : desc.fields.map((f) => f.name).join(", ");
}

/** protobuf-es's reason for a value that does not fit a field, said in terms of the file. */
function describeValueError(field: DescField, reason: string): string {
  const expected =
    field.fieldKind === "list"
      ? "a list"
      : field.fieldKind === "map"
        ? "a mapping"
        : field.fieldKind === "scalar"
          ? scalarWord(field)
          : field.fieldKind === "enum"
            ? "an enum name"
            : "a mapping";
  return `must be ${expected} (${reason})`;
}

function scalarWord(field: DescField & { fieldKind: "scalar" }): string {
  switch (field.scalar) {
    case ScalarType.STRING:
      return "a string";
    case ScalarType.BOOL:
      return "true or false";
    default:
      return "a whole number";
  }
}

// ---------------------------------------------------------------------------
// Pass 2: protovalidate's violations, at their places.

/** One violation as `<place>: <message>`, its path written as the file writes it. */
function describeViolation(caseFile: CaseFile, violation: Violation): string {
  let place = top;
  let message = violation.message;
  const path: Path = violation.field;
  for (let i = 0; i < path.length; i++) {
    const element = path[i]!;
    switch (element.kind) {
      case "field":
        if (
          element.parent.typeName === CaseFileSchema.typeName &&
          element.name === "cases" &&
          path[i + 1]?.kind === "list_sub"
        ) {
          place = casePlace(caseFile, (path[i + 1] as { index: number }).index);
          i++;
        } else {
          place = fieldPlace(place, element);
        }
        break;
      case "list_sub":
        place = inside(place, element.index);
        break;
      case "map_sub":
        place = inside(place, String(element.key));
        break;
      case "oneof":
        message = `give one of ${element.fields.map((f) => f.name).join(", ")}`;
        break;
      default:
        break;
    }
  }
  return `${describePlace(place)}: ${message}`;
}

// ---------------------------------------------------------------------------
// Pass 3: the checks that need tables outside the schema, and conversion to
// the runner's types.

/** Fails with the file and a place; knows the current case. */
class Reader {
  constructor(
    readonly file: string,
    readonly place: Place,
  ) {}

  at(...segments: (string | number)[]): Reader {
    return new Reader(this.file, inside(this.place, ...segments));
  }

  fail(message: string): never {
    throw new DefinitionError(this.file, `${describePlace(this.place)}: ${message}`);
  }

  /** A FailureReason value name without its prefix. */
  reason(name: string): ReasonName {
    if (!isReasonName(name)) this.fail(`unknown FailureReason "${name}"`);
    return name;
  }

  /** An enum value's number by its name as protobuf-es writes it (without the type prefix). */
  event<E extends Record<string, string | number>>(values: E, name: string): number {
    const names = Object.keys(values).filter((k) => Number.isNaN(Number(k)));
    if (!names.includes(name)) this.fail(`must be one of ${names.join(", ")}`);
    return values[name] as number;
  }
}

function readCase(c: Case, r: Reader): CaseDefinition {
  return {
    name: c.name,
    profile: c.profile as CaseDefinition["profile"],
    purpose: c.purpose,
    transports: c.transports.length === 0 ? [...transports] : (c.transports as Transport[]),
    requires: c.requires as Requirement[],
    steps: c.steps.map((s, i) => readStep(s, r.at("steps", i))),
    file: r.file,
  };
}

function readStep(step: StepMessage, r: Reader): Step {
  const { kind } = step;
  switch (kind.case) {
    case "call":
      return readCallStep(kind.value, r);
    case "connect":
      return {
        kind: "connect",
        participant: kind.value.connect,
        token: readToken(kind.value.token!),
        inboxPrefix: kind.value.inboxPrefix,
        expect: kind.value.expect as "admitted" | "refused",
      };
    case "connectMany": {
      const s = kind.value;
      return {
        kind: "connect-many",
        prefix: s.connectMany,
        count: s.count,
        room: s.room,
        admitted: s.expect!.admitted!,
      };
    }
    case "close":
      return { kind: "close", participant: kind.value.close };
    case "leave":
      return { kind: "leave", participant: kind.value.leave };
    case "connection": {
      const s = kind.value;
      return {
        kind: "connection",
        participant: s.connection,
        expect: s.expect as "closed" | "open",
        withinMs: s.withinMs ?? 2_000,
        reason: s.reason === undefined ? undefined : r.at("reason").reason(s.reason),
      };
    }
    case "subscribe":
      return {
        kind: "subscribe",
        participant: kind.value.subscribe,
        subject: kind.value.subject,
        expect: kind.value.expect as "accepted" | "refused" | undefined,
      };
    case "publish": {
      const s = kind.value;
      const common = {
        kind: "publish" as const,
        participant: s.publish,
        subject: s.subject,
        reply: s.reply,
        expect: s.expect as "accepted" | "refused" | undefined,
      };
      if (s.envelope === undefined) return { ...common, payload: s.payload! };
      const event = r.at("envelope", "event").event(NatsMsgClientToServerEvent, s.envelope.event);
      return { ...common, payload: { event, msg: s.envelope.msg } };
    }
    case "received":
      return {
        kind: "received",
        participant: kind.value.received,
        subject: kind.value.subject,
        withinMs: kind.value.withinMs ?? 1_000,
        expect: readDelivery(kind.value.expect!, r.at("expect")),
      };
    case "send": {
      const s = kind.value;
      const expect = readAnswer(s.expect!, r.at("expect"));
      return {
        kind: "request",
        participant: s.send,
        event: r.at("event").event(NatsMsgClientToServerEvent, s.event),
        msg: s.msg === undefined ? undefined : readToken(s.msg),
        worker: (s.worker ?? "core") as "core" | "js",
        throughConsumer: s.throughConsumer,
        withinMs: s.withinMs ?? (expect.none ? 1_000 : 5_000),
        expect,
        save: { ...s.save },
      };
    }
    case "joinSession": {
      const s = kind.value;
      return {
        kind: "join-session",
        participant: s.joinSession,
        token: readToken(s.token!),
        passphrase: s.passphrase,
        expect: s.expect === "joined" ? { joined: true } : { refused: r.at("reason").reason(s.reason!) },
      };
    }
    case "sendChat":
      return { kind: "send-chat", participant: kind.value.sendChat, text: kind.value.text };
    case "consume":
      return {
        kind: "consume",
        participant: kind.value.consume,
        expect: (kind.value.expect ?? "accepted") as "accepted" | "refused",
      };
    case undefined:
      return r.fail("the step has no kind");
  }
}

function readCallStep(s: CallStepMessage, r: Reader): CallStep {
  const op = operations.get(s.call);
  if (op === undefined)
    return r.at("call").fail(`unknown operation "${s.call}"; known: ${[...operations.keys()].join(", ")}`);
  if (op.auth === "token" && s.auth !== undefined) r.fail(`${s.call} is token-authenticated; use token, not auth`);
  if (op.auth === "signature" && s.token !== undefined) r.fail(`${s.call} is signed; use auth, not token`);
  const auth: AuthFault = {};
  if (s.auth?.apiKey !== undefined) auth.apiKey = s.auth.apiKey as AuthFault["apiKey"];
  if (s.auth?.signature !== undefined) auth.signature = s.auth.signature as AuthFault["signature"];
  if (s.auth?.version === 2) auth.version = 2;
  if (s.auth?.skewSeconds !== undefined) auth.skewSeconds = s.auth.skewSeconds;
  // Resolved when the step runs: it usually names a variable saved by an earlier step.
  if (s.auth?.header !== undefined) auth.header = s.auth.header;
  const step: CallStep = {
    kind: "call",
    call: s.call,
    request: s.request ?? {},
    auth,
    expect: readExpect(s.expect!, r.at("expect")),
    save: { ...s.save },
  };
  if (s.auth?.saveHeader !== undefined) step.saveHeader = s.auth.saveHeader;
  if (s.raw !== undefined) step.raw = { json: s.raw.json, protoHex: s.raw.protoHex };
  if (s.token !== undefined) step.token = readToken(s.token);
  return step;
}

function readToken(t: TokenSchema): TokenSpec {
  switch (t.source.case) {
    case "none":
      return { kind: "none" };
    case "value":
      return { kind: "literal", value: t.source.value, prefix: t.prefix, inQuery: t.inQuery };
    default:
      return {
        kind: "derived",
        from: t.source.value ?? "",
        claims: t.claims ?? {},
        header: t.header ?? {},
        signWith: t.signWith,
        otherKey: t.otherKey,
        tamper: t.tamper ?? {},
        prefix: t.prefix,
        inQuery: t.inQuery,
      };
  }
}

function readExpect(e: CallExpectation, r: Reader): Expectation {
  const outcome: Expectation["outcome"] = e.ok
    ? { ok: true }
    : e.failure !== undefined
      ? { failure: r.at("failure").reason(e.failure) }
      : { any: true };
  return { outcome, violations: e.violations, messageContains: e.messageContains, fields: e.fields };
}

function readDelivery(e: DeliverySchema, r: Reader): DeliveryExpectation {
  return {
    contains: e.contains,
    notContains: e.notContains,
    nothing: e.nothing,
    atLeast: e.atLeast,
    envelope: e.envelope === undefined ? undefined : readAnswer(e.envelope, r.at("envelope")),
    decryptionError: e.decryptionError,
  };
}

function readAnswer(e: AnswerSchema, r: Reader): AnswerExpectation {
  return {
    event: r.at("event").event(NatsMsgServerToClientEvent, e.event),
    none: e.none,
    msg: e.msg === undefined ? undefined : toJson(ValueSchema, e.msg),
    renewalFailure: e.renewalFailure === undefined ? undefined : r.at("renewal_failure").reason(e.renewalFailure),
    errorDetail: e.errorDetail === undefined ? undefined : r.at("error_detail").reason(e.errorDetail),
    initialData: e.initialData as JsonObject | undefined,
    media: e.media as JsonObject | undefined,
  };
}
