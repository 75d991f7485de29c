import { ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, type FailureReason } from "@pnm/protocol/pnm/v1/common_pb";

/**
 * Why a pnm server refused a call: the `FailureReason` of the
 * `pnm.v1.ErrorDetail` it attaches to every RPC refusal. Undefined when `err`
 * is not a ConnectError or carries no such detail (a proxy's or network
 * error, say).
 */
export function failureReason(err: unknown): FailureReason | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  return err.findDetails(ErrorDetailSchema)[0]?.reason;
}
