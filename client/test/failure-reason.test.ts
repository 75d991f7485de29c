import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FailureReason, failureReason } from "@pnm/client";
import { ErrorDetailSchema } from "@pnm/protocol/pnm/v1/common_pb";
import { describe, expect, it } from "vitest";

describe("failureReason", () => {
  it("reads the reason of the pnm.v1.ErrorDetail a refusal carries", () => {
    // As a client receives it: the detail still encoded, as on the wire.
    const refusal = new ConnectError("user is blocked", Code.PermissionDenied);
    const value = toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason: FailureReason.USER_BLOCKED }));
    refusal.details.push({ type: ErrorDetailSchema.typeName, value });
    expect(failureReason(refusal)).toBe(FailureReason.USER_BLOCKED);
  });

  it("is undefined without one", () => {
    expect(failureReason(new ConnectError("bad gateway", Code.Unavailable))).toBeUndefined();
    expect(failureReason(new TypeError("fetch failed"))).toBeUndefined();
    expect(failureReason(undefined)).toBeUndefined();
  });
});
