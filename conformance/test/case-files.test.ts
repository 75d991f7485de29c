import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadCaseDirectory, parseCaseFile } from "../src/cases/load-cases.js";
import { DefinitionError } from "../src/errors.js";
import { loadFeatures } from "../src/features.js";
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

  it("cover every operation on every transport", () => {
    const pnm = expandCases(cases, "pnm", loadFeatures(dir("features/pnm.yaml")));
    for (const call of [
      "RoomService.CreateRoom",
      "RoomService.GetJoinToken",
      "RoomService.IsRoomActive",
      "RoomService.EndRoom",
      "RoomService.RemoveParticipant",
      "ParticipantService.VerifyToken",
    ]) {
      for (const transport of ["rest", "connect-json", "connect-proto", "grpc-web", "grpc"]) {
        expect(pnm.some((c) => c.transport === transport && c.definition.steps.some((s) => s.kind === "call" && s.call === call)), `${call} over ${transport}`).toBe(true);
      }
    }
  });
});

describe("the NATS plane cases", () => {
  const all = new Set(["nats", "livekit", "no-livekit"] as const);
  const natsCases = cases.filter((c) => c.requires.includes("nats"));

  it("are at least 25, every one with a participant step or a presence refusal", () => {
    expect(natsCases.length).toBeGreaterThanOrEqual(25);
    for (const c of natsCases) expect(c.steps.some((s) => s.kind !== "call"), c.name).toBe(true);
  });

  it("run over one transport, except VerifyToken refusals, whose subject is the API answer", () => {
    const pnm = expandCases(cases, "pnm", loadFeatures(dir("features/pnm.yaml")), [], all);
    for (const c of natsCases.filter((c) => !c.name.startsWith("verify/"))) {
      expect(pnm.filter((e) => e.definition === c).map((e) => e.transport), c.name).toHaveLength(1);
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
    const names = (available: Set<"nats" | "livekit" | "no-livekit">) => expandCases(cases, "pnm", pnm, ["media/"], available).map((c) => c.definition.name);
    expect(names(new Set(["nats"]))).toEqual(["media/waiting-user-refused"]);
    expect(names(new Set(["nats", "no-livekit"]))).toEqual(["media/waiting-user-refused", "media/unavailable-without-livekit"]);
    expect(names(new Set(["nats", "livekit"]))).not.toContain("media/unavailable-without-livekit");
  });
});

describe("case files are checked when read", () => {
  const file = "x.yaml";
  const caseWith = (step: string, extra = "") => `cases:\n  - name: group/a-case\n    profile: pnm\n    purpose: p\n${extra}    steps:\n      - ${step}\n`;

  it.each([
    ["an unknown key", caseWith("{ call: RoomService.EndRoom, expect: { ok: true }, retries: 3 }"), /unknown key "retries"/],
    ["an unknown operation", caseWith("{ call: RoomService.Destroy, expect: { ok: true } }"), /unknown operation "RoomService.Destroy"/],
    ["an unknown failure reason", caseWith("{ call: RoomService.EndRoom, expect: { failure: NOPE } }"), /unknown FailureReason "NOPE"/],
    ["violations without INVALID_ARGUMENT", caseWith("{ call: RoomService.EndRoom, expect: { failure: ROOM_NOT_FOUND, violations: [room_id] } }"), /violations go with/],
    ["a token on a signed call", caseWith('{ call: RoomService.EndRoom, token: "x", expect: { ok: true } }'), /is signed; use auth/],
    ["an unknown transport", caseWith("{ call: RoomService.EndRoom, expect: { ok: true } }", "    transports: [smoke-signals]\n"), /unknown transport/],
    ["no expectation", caseWith("{ call: RoomService.EndRoom, expect: {} }"), /state ok, failure or fields/],
    [
      "a whole-frame signature on a transport without frames",
      caseWith("{ call: RoomService.EndRoom, auth: { signature: whole-frame }, expect: { failure: SIGNATURE_INVALID } }", "    transports: [grpc, connect-proto]\n"),
      /only grpc and grpc-web have one/,
    ],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseCaseFile(file, text)).toThrow(DefinitionError);
    expect(() => parseCaseFile(file, text)).toThrow(message);
  });

  const natsCase = (step: string, extra = "    requires: [nats]\n") => caseWith(step, extra);
  it.each([
    ["a participant step without requires: [nats]", caseWith("{ connect: a, token: t, expect: admitted }"), /participant steps need requires: \[nats\]/],
    ["a step of two kinds", natsCase("{ connect: a, close: a, token: t, expect: admitted }"), /exactly one of/],
    ["an unknown request event", natsCase("{ send: a, event: REQ_EVERYTHING, expect: { event: PONG } }"), /event must be one of/],
    ["none with other expectations", natsCase("{ send: a, event: PING, expect: { event: PONG, none: true, msg: x } }"), /none stands alone/],
    ["nothing with contains", natsCase("{ received: a, subject: s, expect: { nothing: true, contains: x } }"), /nothing excludes/],
    ["a bad participant name", natsCase("{ close: Alice }"), /participant name/],
    ["a publish with payload and envelope", natsCase("{ publish: a, subject: s, payload: x, envelope: { event: PING } }"), /payload \(text\) or envelope/],
    ["join_session over rest", natsCase("{ join_session: a, token: t, expect: joined }", "    requires: [nats]\n    transports: [rest]\n"), /RPC protocols only/],
    ["livekit without nats", caseWith("{ call: RoomService.EndRoom, expect: { ok: true } }", "    requires: [livekit]\n"), /media requirements go with nats/],
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseCaseFile(file, text)).toThrow(message);
  });

  it("reads participant steps with their defaults", () => {
    const [c] = parseCaseFile(file, natsCase('{ send: a, event: REQ_RENEW_PNM_TOKEN, msg: "${t}", expect: { event: RESP_RENEW_PNM_TOKEN, renewal_failure: TOKEN_EXPIRED } }'));
    expect(c!.steps[0]).toMatchObject({ kind: "request", participant: "a", event: 3, worker: "core", withinMs: 5000, expect: { event: 8, renewalFailure: "TOKEN_EXPIRED" } });
  });

  it("reads anchors and merge keys", () => {
    const text = `x-step: &step\n  call: RoomService.IsRoomActive\n  request: { room_id: r }\n${caseWith("<<: *step\n        expect: { ok: true }")}`;
    expect(parseCaseFile(file, text)[0]!.steps[0]).toMatchObject({ call: "RoomService.IsRoomActive", request: { room_id: "r" }, expect: { outcome: { ok: true } } });
  });
});
