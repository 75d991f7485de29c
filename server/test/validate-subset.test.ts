import { describe, expect, it } from "vitest";
import * as real from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import * as subset from "@pnm/protocol/buf/validate/validate_pb";

// The contract's validate.proto is a hand-written subset; its numbers must be the real ones.
describe("vendored protovalidate subset", () => {
  const pairs = Object.keys(subset).filter((name) => name.endsWith("Schema") && name in real) as (keyof typeof subset & keyof typeof real)[];
  it("declares only messages the real file has", () => {
    expect(pairs.length).toBeGreaterThan(8);
  });
  it.each(pairs)("%s uses the real field names and numbers", (name) => {
    const mine = (subset[name] as { fields?: { name: string; number: number }[]; values?: { name: string; number: number }[] });
    const theirs = (real[name] as { fields?: { name: string; number: number }[]; values?: { name: string; number: number }[] });
    for (const f of mine.fields ?? mine.values ?? []) {
      const match = (theirs.fields ?? theirs.values ?? []).find((t) => t.name === f.name);
      expect(match, `${name}.${f.name}`).toBeDefined();
      expect(match!.number, `${name}.${f.name}`).toBe(f.number);
    }
  });
  it("extends field and message options with the real extension number", () => {
    expect(subset.field.number).toBe(real.field.number);
    expect(subset.message.number).toBe(real.message.number);
  });
});
