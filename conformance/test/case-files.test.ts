import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DescField, getOption } from "@bufbuild/protobuf";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, it } from "vitest";
import { requirements } from "../src/cases/case-types.js";
import { loadCaseDirectory, parseCaseFile } from "../src/cases/load-cases.js";
import { DefinitionError } from "../src/errors.js";
import { loadFeatures } from "../src/features.js";
import { CaseSchema, StepSchema } from "../src/gen/pnm/conformance/v1/case_pb.js";
import { profiles, transports } from "../src/profiles.js";
import { expandCases } from "../src/run/runner.js";

const dir = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const cases = loadCaseDirectory(dir("cases"));

describe("the shipped cases", () => {
  it("expand to at least 60 cases over pnm's transports, and a REST-only upstream set", () => {
    const pnm = expandCases(cases, "pnm", loadFeatures(dir("features/pnm.yaml")));
    const upstream = expandCases(cases, "upstream", loadFeatures(dir("features/upstream.yaml")));
    expect(pnm.length).toBeGreaterThanOrEqual(60);
    expect(upstream.length).toBeGreaterThanOrEqual(30);
    expect(upstream.every((c) => c.transport === "rest" && c.definition.profile === "upstream")).toBe(true);
    expect(new Set(pnm.map((c) => c.name)).size).toBe(pnm.length);
  });

  it("keep the upstream-web-client cases to runs of that profile, and only those", () => {
    const own = expandCases(cases, "upstream-web-client", loadFeatures(dir("features/upstream-web-client.yaml")));
    const pnm = expandCases(cases, "pnm", loadFeatures(dir("features/pnm.yaml")));
    expect(own.length).toBeGreaterThanOrEqual(8);
    expect(own.every((c) => c.definition.profile === "upstream-web-client")).toBe(true);
    expect(pnm.some((c) => c.definition.profile === "upstream-web-client")).toBe(false);
  });

  it("cover every operation on every transport", () => {
    const pnm = expandCases(cases, "pnm", loadFeatures(dir("features/pnm.yaml")));
    for (const call of [
      "RoomService.CreateRoom",
      "RoomService.GetJoinToken",
      "RoomService.IsRoomActive",
      "RoomService.EndRoom",
      "RoomService.RemoveParticipant",
      "RoomService.ApproveParticipant",
      "RoomService.DenyParticipant",
      "ParticipantService.VerifyToken",
    ]) {
      for (const transport of ["rest", "connect-json", "connect-proto", "grpc-web", "grpc"]) {
        expect(
          pnm.some(
            (c) => c.transport === transport && c.definition.steps.some((s) => s.kind === "call" && s.call === call),
          ),
          `${call} over ${transport}`,
        ).toBe(true);
      }
    }
  });
});

describe("the NATS plane cases", () => {
  const all = new Set(["nats", "livekit", "no-livekit"] as const);
  const natsCases = cases.filter((c) => c.requires.includes("nats"));

  it("are at least 25, every one with a participant step or a presence refusal", () => {
    expect(natsCases.length).toBeGreaterThanOrEqual(25);
    for (const c of natsCases)
      expect(
        c.steps.some((s) => s.kind !== "call"),
        c.name,
      ).toBe(true);
  });

  it("run over one transport, except VerifyToken refusals, whose subject is the API answer", () => {
    // Cases of rooms open to upstream's web client run in their own profile's runs only.
    const runs = Object.fromEntries(
      (["pnm", "upstream-web-client"] as const).map((p) => [
        p,
        expandCases(cases, p, loadFeatures(dir(`features/${p}.yaml`)), [], all),
      ]),
    );
    for (const c of natsCases.filter((c) => !c.name.startsWith("verify/"))) {
      const run = runs[c.profile === "upstream-web-client" ? "upstream-web-client" : "pnm"]!;
      expect(
        run.filter((e) => e.definition === c).map((e) => e.transport),
        c.name,
      ).toHaveLength(1);
    }
  });

  it("run only against servers whose features offer the plane, and media cases only as the run allows", () => {
    const upstream = loadFeatures(dir("features/upstream.yaml"));
    expect(upstream.nats).toBe(false);
    // Without an explicit set, requirements come from the features file alone.
    expect(expandCases(cases, "upstream", upstream).some((c) => c.definition.requires.includes("nats"))).toBe(false);
    expect(expandCases(cases, "pnm", upstream).some((c) => c.definition.requires.includes("nats"))).toBe(false);
    const pnm = loadFeatures(dir("features/pnm.yaml"));
    expect(pnm.nats).toBe(true);
    const names = (available: Set<"nats" | "livekit" | "no-livekit">) =>
      expandCases(cases, "pnm", pnm, ["media/"], available).map((c) => c.definition.name);
    expect(names(new Set(["nats"]))).toEqual(["media/waiting-user-refused"]);
    expect(names(new Set(["nats", "no-livekit"]))).toEqual([
      "media/waiting-user-refused",
      "media/unavailable-without-livekit",
    ]);
    expect(names(new Set(["nats", "livekit"]))).not.toContain("media/unavailable-without-livekit");
  });
});

describe("case files are checked when read", () => {
  const file = "x.yaml";
  const caseWith = (step: string, extra = "") =>
    `cases:\n  - name: group/a-case\n    profile: pnm\n    purpose: p\n${extra}    steps:\n      - ${step}\n`;
  const natsCase = (step: string, extra = "    requires: [nats]\n") => caseWith(step, extra);
  const endRoom = (extra = "") => `{ call: RoomService.EndRoom${extra}, expect: { ok: true } }`;
  const verify = (token: string) => `{ call: ParticipantService.VerifyToken, token: ${token}, expect: { ok: true } }`;
  const refuses = (text: string, message: RegExp) => {
    expect(() => parseCaseFile(file, text)).toThrow(DefinitionError);
    expect(() => parseCaseFile(file, text)).toThrow(message);
  };

  // Pass 1: the YAML must decode as pnm.conformance.v1.CaseFile (conformance/proto); the message names the file and the place.
  it.each([
    [
      "an unknown key in a step",
      caseWith(endRoom(", retries: 3")),
      /^x\.yaml: case group\/a-case: steps\[0\]: unknown key "retries"; allowed: call, request, raw, auth, token, expect, save$/,
    ],
    [
      "an unknown key deeper down",
      caseWith("{ call: RoomService.EndRoom, expect: { ok: true, status: 200 } }"),
      /case group\/a-case: steps\[0\]\.expect: unknown key "status"; allowed: ok, failure/,
    ],
    [
      "an unknown top-level key",
      `cases: []\nanchors: {}\n`,
      /^x\.yaml: the document: unknown top-level key "anchors"; allowed: cases, and keys starting with x- for anchors$/,
    ],
    ["a document that is not a mapping", "- 1\n", /the document must be a mapping/],
    [
      "text where a number belongs",
      natsCase("{ connect_many: u, count: many, room: r, expect: { admitted: 1 } }"),
      /steps\[0\]\.count: must be a whole number/,
    ],
    [
      "a negative number",
      natsCase("{ connect_many: u, count: -1, room: r, expect: { admitted: 1 } }"),
      /steps\[0\]\.count: must be a whole number/,
    ],
    [
      "text where a list belongs",
      natsCase("{ received: a, expect: { contains: x } }"),
      /steps\[0\]\.expect\.contains: must be a list/,
    ],
    [
      "text where a mapping belongs",
      caseWith("{ call: RoomService.EndRoom, expect: ok }"),
      /steps\[0\]\.expect: must be a mapping with keys ok, failure, violations, message_contains, fields/,
    ],
    [
      "a step of no kind",
      caseWith("{ expect: { ok: true } }"),
      /steps\[0\]: a step has exactly one of call, connect, connect_many/,
    ],
    [
      "a step of two kinds",
      natsCase("{ connect: a, close: a, token: t, expect: admitted }"),
      /steps\[0\]: a step has exactly one of/,
    ],
  ])("refuses %s", (_what, text, message) => refuses(text, message));

  // Pass 2: the schema's protovalidate rules on single fields.
  it.each([
    [
      "a case name that is not group/kebab-name",
      caseWith(endRoom()).replace("group/a-case", "A case"),
      /case A case: name: must look like group\/kebab-case-name/,
    ],
    [
      "an unknown profile",
      caseWith(endRoom()).replace("profile: pnm", "profile: strict"),
      /profile: must be in list \[upstream, pnm, upstream-web-client\]/,
    ],
    [
      "a purpose of two lines",
      caseWith(endRoom()).replace("purpose: p", 'purpose: "one\\ntwo"'),
      /purpose: must be one non-empty line/,
    ],
    [
      "a blank purpose",
      caseWith(endRoom()).replace("purpose: p", 'purpose: "  "'),
      /purpose: must be one non-empty line/,
    ],
    [
      "an unknown transport",
      caseWith(endRoom(), "    transports: [smoke-signals]\n"),
      /transports\[0\]: must be in list \[rest, connect-json, connect-proto, grpc-web, grpc\]/,
    ],
    [
      "a transport listed twice",
      caseWith(endRoom(), "    transports: [grpc, grpc]\n"),
      /transports: repeated value must contain unique items/,
    ],
    [
      "an unknown requirement",
      caseWith(endRoom(), "    requires: [redis]\n"),
      /requires\[0\]: must be in list \[nats, livekit, no-livekit\]/,
    ],
    [
      "a case without steps",
      caseWith(endRoom()).replace(/ {4}steps:[\s\S]*$/, "    steps: []\n"),
      /case group\/a-case: steps: must contain at least 1 item/,
    ],
    ["a file without cases", "cases: []\n", /cases: must contain at least 1 item/],
    [
      "an unknown signature fault",
      caseWith("{ call: RoomService.EndRoom, auth: { signature: forged }, expect: { ok: true } }"),
      /steps\[0\]\.auth\.signature: must be in list/,
    ],
    [
      "raw bytes that are not lower-case hex",
      caseWith(endRoom(", raw: { proto_hex: 0A }")),
      /steps\[0\]\.raw\.proto_hex: does not match regex pattern/,
    ],
    [
      "an empty save path",
      caseWith(endRoom(', save: { sid: "" }')),
      /steps\[0\]\.save\.sid: must be at least 1 characters/,
    ],
    ["a call without expect", caseWith("{ call: RoomService.EndRoom }"), /steps\[0\]\.expect: value is required/],
    [
      "ok: false",
      caseWith("{ call: RoomService.EndRoom, expect: { ok: false } }"),
      /steps\[0\]\.expect\.ok: ok can only be true; state a failure instead/,
    ],
    [
      "a bad participant name (a predefined rule)",
      natsCase("{ close: Alice }"),
      /steps\[0\]\.close: a participant name is lower-case letters, digits and _, starting with a letter/,
    ],
    [
      "an unknown connect outcome",
      natsCase('{ connect: a, token: "${t}", expect: maybe }'),
      /steps\[0\]\.expect: must be in list \[admitted, refused\]/,
    ],
    ["a connect without token", natsCase("{ connect: a, expect: admitted }"), /steps\[0\]\.token: value is required/],
    [
      "a count of zero",
      natsCase("{ connect_many: u, count: 0, room: r, expect: { admitted: 0 } }"),
      /steps\[0\]\.count: must be greater than or equal to 1/,
    ],
    [
      "a wait of zero",
      natsCase("{ connection: a, expect: open, within_ms: 0 }"),
      /steps\[0\]\.within_ms: must be greater than 0/,
    ],
    [
      "an unknown worker",
      natsCase("{ send: a, event: PING, worker: http, expect: { event: PONG } }"),
      /steps\[0\]\.worker: must be in list \[core, js\]/,
    ],
    [
      "an unknown signing algorithm",
      caseWith(verify("{ from: t, sign_with: RS256 }")),
      /steps\[0\]\.token\.sign_with: must be in list \[HS256, HS384, HS512, none\]/,
    ],
  ])("refuses %s", (_what, text, message) => refuses(text, message));

  // Pass 2: the schema's cross-field CEL rules.
  it.each([
    [
      "a participant step without requires: [nats]",
      caseWith('{ connect: a, token: "${t}", expect: admitted }'),
      /case group\/a-case: participant steps need requires: \[nats\]/,
    ],
    ["livekit without nats", caseWith(endRoom(), "    requires: [livekit]\n"), /media requirements go with nats/],
    [
      "livekit with no-livekit",
      caseWith(endRoom(), "    requires: [nats, livekit, no-livekit]\n"),
      /requires livekit and no-livekit exclude each other/,
    ],
    [
      "a whole-frame signature on a transport without frames",
      caseWith(
        "{ call: RoomService.EndRoom, auth: { signature: whole-frame }, expect: { failure: SIGNATURE_INVALID } }",
        "    transports: [grpc, connect-proto]\n",
      ),
      /only grpc and grpc-web have one/,
    ],
    [
      "a whole-frame signature on every transport",
      caseWith(
        "{ call: RoomService.EndRoom, auth: { signature: whole-frame }, expect: { failure: SIGNATURE_INVALID } }",
      ),
      /only grpc and grpc-web have one/,
    ],
    [
      "join_session over rest",
      natsCase('{ join_session: a, token: "${t}", expect: joined }', "    requires: [nats]\n    transports: [rest]\n"),
      /RPC protocols only/,
    ],
    [
      "ok with a failure",
      caseWith("{ call: RoomService.EndRoom, expect: { ok: true, failure: ROOM_NOT_FOUND } }"),
      /steps\[0\]\.expect: ok and failure exclude each other/,
    ],
    [
      "no expectation",
      caseWith("{ call: RoomService.EndRoom, expect: {} }"),
      /steps\[0\]\.expect: state ok, failure or fields/,
    ],
    [
      "violations without INVALID_ARGUMENT",
      caseWith("{ call: RoomService.EndRoom, expect: { failure: ROOM_NOT_FOUND, violations: [room_id] } }"),
      /violations go with failure: INVALID_ARGUMENT/,
    ],
    [
      "message_contains without a failure",
      caseWith("{ call: RoomService.EndRoom, expect: { ok: true, message_contains: [x] } }"),
      /message_contains goes with a failure/,
    ],
    [
      "a token of no source",
      caseWith(verify('{ prefix: "Bearer " }')),
      /steps\[0\]\.token: give one of value, from, none/,
    ],
    [
      "none with other token keys",
      caseWith(verify('{ none: true, prefix: "Bearer " }')),
      /steps\[0\]\.token: none: true stands alone/,
    ],
    [
      "claims on a literal token",
      caseWith(verify("{ value: x, claims: { sub: y } }")),
      /steps\[0\]\.token: claims, header, sign_with, other_key and tamper derive a token: they go with from/,
    ],
    [
      "admitting more than connect",
      natsCase("{ connect_many: u, count: 1, room: r, expect: { admitted: 2 } }"),
      /steps\[0\]: cannot admit more than count/,
    ],
    [
      "a close reason on an open connection",
      natsCase("{ connection: a, expect: open, reason: USER_REMOVED }"),
      /steps\[0\]: reason goes with expect: closed/,
    ],
    [
      "a publish with payload and envelope",
      natsCase("{ publish: a, subject: s, payload: x, envelope: { event: PING } }"),
      /steps\[0\]: give payload \(text\) or envelope, not both/,
    ],
    ["a publish with neither", natsCase("{ publish: a, subject: s }"), /give payload \(text\) or envelope, not both/],
    [
      "nothing with contains",
      natsCase("{ received: a, subject: s, expect: { nothing: true, contains: [x] } }"),
      /steps\[0\]\.expect: nothing excludes contains, at_least and envelope/,
    ],
    ["a delivery that states nothing", natsCase("{ received: a, expect: {} }"), /state what must or must not arrive/],
    [
      "none in a received envelope",
      natsCase("{ received: a, expect: { envelope: { event: PONG, none: true } } }"),
      /none belongs to send steps/,
    ],
    [
      "none with other expectations",
      natsCase("{ send: a, event: PING, expect: { event: PONG, none: true, msg: x } }"),
      /steps\[0\]\.expect: none stands alone with event/,
    ],
    [
      "two refusals",
      natsCase(
        "{ send: a, event: PING, expect: { event: PONG, renewal_failure: TOKEN_EXPIRED, error_detail: TOKEN_EXPIRED } }",
      ),
      /renewal_failure and error_detail exclude each other/,
    ],
    [
      "a refusal with data",
      natsCase(
        "{ send: a, event: REQ_INITIAL_DATA, expect: { event: RES_INITIAL_DATA, error_detail: INTERNAL, initial_data: {} } }",
      ),
      /a refusal has no initial_data or media/,
    ],
    [
      "a refused session without reason",
      natsCase('{ join_session: a, token: "${t}", expect: refused }', "    requires: [nats]\n    transports: [grpc]\n"),
      /expect: refused needs a reason/,
    ],
  ])("refuses %s", (_what, text, message) => refuses(text, message));

  // Pass 3: checks against tables outside the schema.
  it.each([
    [
      "an unknown operation",
      caseWith("{ call: RoomService.Destroy, expect: { ok: true } }"),
      /steps\[0\]\.call: unknown operation "RoomService.Destroy"; known: RoomService.CreateRoom/,
    ],
    [
      "a token on a signed call",
      caseWith('{ call: RoomService.EndRoom, token: "x", expect: { ok: true } }'),
      /steps\[0\]: RoomService.EndRoom is signed; use auth, not token/,
    ],
    [
      "auth on a token call",
      caseWith("{ call: ParticipantService.VerifyToken, auth: { api_key: wrong }, expect: { ok: true } }"),
      /ParticipantService.VerifyToken is token-authenticated; use token, not auth/,
    ],
    [
      "an unknown failure reason",
      caseWith("{ call: RoomService.EndRoom, expect: { failure: NOPE } }"),
      /steps\[0\]\.expect\.failure: unknown FailureReason "NOPE"/,
    ],
    [
      "an unknown reason in an answer",
      natsCase("{ send: a, event: PING, expect: { event: PONG, error_detail: NOPE } }"),
      /steps\[0\]\.expect\.error_detail: unknown FailureReason "NOPE"/,
    ],
    [
      "an unknown request event",
      natsCase("{ send: a, event: REQ_EVERYTHING, expect: { event: PONG } }"),
      /steps\[0\]\.event: must be one of REQ_INITIAL_DATA/,
    ],
    [
      "an unknown answer event",
      natsCase("{ send: a, event: PING, expect: { event: PING } }"),
      /steps\[0\]\.expect\.event: must be one of RES_INITIAL_DATA/,
    ],
  ])("refuses %s", (_what, text, message) => refuses(text, message));

  it("refuses a case name used twice in a directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "pnm-cases-"));
    writeFileSync(join(dir, "a.yaml"), caseWith(endRoom()));
    writeFileSync(join(dir, "b.yaml"), caseWith(endRoom()));
    expect(() => loadCaseDirectory(dir)).toThrow(/case group\/a-case is also defined in .*a\.yaml/);
  });

  it("reads participant steps with their defaults", () => {
    const [c] = parseCaseFile(
      file,
      natsCase(
        '{ send: a, event: REQ_RENEW_PNM_TOKEN, msg: "${t}", expect: { event: RESP_RENEW_PNM_TOKEN, renewal_failure: TOKEN_EXPIRED } }',
      ),
    );
    expect(c!.steps[0]).toMatchObject({
      kind: "request",
      participant: "a",
      event: 3,
      worker: "core",
      withinMs: 5000,
      expect: { event: 8, renewalFailure: "TOKEN_EXPIRED" },
    });
    expect(c!.transports).toEqual(["rest", "connect-json", "connect-proto", "grpc-web", "grpc"]);
  });

  it("reads a token written as a string as a literal value, and derived tokens with their keys", () => {
    const [c] = parseCaseFile(file, caseWith(verify('"${alice}"')));
    expect(c!.steps[0]).toMatchObject({ token: { kind: "literal", value: "${alice}", prefix: "", inQuery: false } });
    const [d] = parseCaseFile(
      file,
      caseWith(verify("{ from: alice, claims: { exp: null, nbf: { $now: 60 } }, sign_with: none }")),
    );
    expect(d!.steps[0]).toMatchObject({
      token: {
        kind: "derived",
        from: "alice",
        claims: { exp: null, nbf: { $now: 60 } },
        signWith: "none",
        otherKey: false,
      },
    });
  });

  it("reads anchors and merge keys", () => {
    const text = `x-step: &step\n  call: RoomService.IsRoomActive\n  request: { room_id: r }\n${caseWith("<<: *step\n        expect: { ok: true }")}`;
    expect(parseCaseFile(file, text)[0]!.steps[0]).toMatchObject({
      call: "RoomService.IsRoomActive",
      request: { room_id: "r" },
      expect: { outcome: { ok: true } },
    });
  });
});

describe("the case schema (conformance/proto/pnm/conformance/v1/case.proto)", () => {
  const listed = (field: DescField) => {
    const rules = getOption(field, fieldRules);
    const strings = rules.type.case === "repeated" ? rules.type.value.items?.type : rules.type;
    return strings?.case === "string" ? strings.value.in : [];
  };

  it("lists the transports, profiles and requirements the harness knows", () => {
    expect(listed(CaseSchema.field.transports)).toEqual([...transports]);
    expect(listed(CaseSchema.field.profile)).toEqual([...profiles]);
    expect(listed(CaseSchema.field.requires)).toEqual([...requirements]);
  });

  it("has a step kind for each kind of step the runner knows", () => {
    expect(StepSchema.oneofs[0]!.fields.map((f) => f.name)).toEqual([
      "call",
      "connect",
      "connect_many",
      "close",
      "connection",
      "subscribe",
      "publish",
      "received",
      "send",
      "join_session",
      "send_chat",
      "leave",
      "consume",
    ]);
  });
});
