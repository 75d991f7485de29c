import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { createValidator, violationsToProto } from "@bufbuild/protovalidate";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "./errors.js";

const validator = createValidator();

/**
 * Enforces the contract's protovalidate rules. The error lists every
 * violation with its field path, and carries them as a typed detail too.
 */
export function assertValid<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
  const result = validator.validate(schema, message);
  if (result.kind === "valid") return;
  if (result.kind === "error") {
    throw pnmError(FailureReason.INTERNAL, "validation rules could not be evaluated", [], result.error);
  }
  const text = result.violations.map((v) => v.toString()).join("; ");
  const [violations, violationsSchema] = violationsToProto(result.violations);
  throw pnmError(FailureReason.INVALID_ARGUMENT, text, [{ desc: violationsSchema, value: violations }]);
}
