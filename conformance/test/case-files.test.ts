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
    for (const call of ["RoomService.CreateRoom", "RoomService.GetJoinToken", "RoomService.IsRoomActive", "RoomService.EndRoom", "ParticipantService.VerifyToken"]) {
      for (const transport of ["rest", "connect-json", "connect-proto", "grpc-web", "grpc"]) {
        expect(pnm.some((c) => c.transport === transport && c.definition.steps.some((s) => s.call === call)), `${call} over ${transport}`).toBe(true);
      }
    }
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
  ])("refuses %s", (_what, text, message) => {
    expect(() => parseCaseFile(file, text)).toThrow(DefinitionError);
    expect(() => parseCaseFile(file, text)).toThrow(message);
  });

  it("reads anchors and merge keys", () => {
    const text = `x-step: &step\n  call: RoomService.IsRoomActive\n  request: { room_id: r }\n${caseWith("<<: *step\n        expect: { ok: true }")}`;
    expect(parseCaseFile(file, text)[0]!.steps[0]).toMatchObject({ call: "RoomService.IsRoomActive", request: { room_id: "r" }, expect: { outcome: { ok: true } } });
  });
});
