import { createRegistry, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createValidator, violationsToProto } from "@bufbuild/protovalidate";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { file_pnm_v1_rules } from "@pnm/protocol/pnm/v1/rules_pb";
import { pnmError } from "./errors.js";

// The registry carries the contract's predefined rules (proto/pnm/v1/rules.proto):
// without it the validator refuses to compile a field that uses one.
const validator = createValidator({ registry: createRegistry(file_pnm_v1_rules) });

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
