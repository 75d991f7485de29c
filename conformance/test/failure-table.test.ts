import { FailureReason, FailureReasonSchema, StatusCodeSchema } from "@pnm/protocol/pnm/v1/common_pb";
import { failureInfo, pnmError } from "@pnm/server/testing";
import { describe, expect, it } from "vitest";
import { failureTable, type ReasonName } from "../src/failure-table.js";
import { upstreamEnumName } from "../src/wire/response-shape.js";

const reasons = FailureReasonSchema.values
  .filter((v) => v.number !== 0)
  .map((v) => v.name.slice("FAILURE_REASON_".length) as ReasonName);

describe("failure table", () => {
  it("has a row for every FailureReason of the contract", () => {
    expect(reasons.filter((r) => !failureTable.has(r))).toEqual([]);
    expect(failureTable.size).toBe(reasons.length);
  });

  // The harness keeps its own copy so that it can check servers that share no
  // code with pnm; this keeps the copy true to pnm's server.
  it.each(reasons)("agrees with pnm's server on %s", (reason) => {
    const info = failureInfo(pnmError(FailureReason[reason], "refused"));
    const form = failureTable.get(reason)!;
    expect(info.code).toBe(form.code);
    expect(
      upstreamEnumName(StatusCodeSchema, StatusCodeSchema.values.find((v) => v.number === info.statusCode)!.name),
    ).toBe(form.statusCode);
  });
});
