import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { JetStreamApiError } from "@nats-io/jetstream";
import { NoRespondersError, RequestError, TimeoutError } from "@nats-io/nats-core";
import { ErrorDetailSchema, FailureReason, StatusCode } from "@pnm/protocol/pnm/v1/common_pb";

const byReason: Record<FailureReason, [Code, StatusCode]> = {
  [FailureReason.UNSPECIFIED]: [Code.Unknown, StatusCode.UNSPECIFIED],
  [FailureReason.API_KEY_MISSING]: [Code.Unauthenticated, StatusCode.MISSING_REQUIRED_PARAMETER],
  [FailureReason.API_KEY_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_API_KEY],
  [FailureReason.SIGNATURE_MISSING]: [Code.Unauthenticated, StatusCode.MISSING_REQUIRED_PARAMETER],
  [FailureReason.SIGNATURE_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.BODY_TOO_LARGE]: [Code.ResourceExhausted, StatusCode.INVALID_PARAMETERS],
  [FailureReason.BODY_MALFORMED]: [Code.InvalidArgument, StatusCode.INVALID_PARAMETERS],
  [FailureReason.INVALID_ARGUMENT]: [Code.InvalidArgument, StatusCode.INVALID_PARAMETERS],
  [FailureReason.TOKEN_MISSING]: [Code.Unauthenticated, StatusCode.MISSING_REQUIRED_PARAMETER],
  [FailureReason.TOKEN_MALFORMED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_ALGORITHM_NOT_ALLOWED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_SIGNATURE_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_EXPIRED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_NOT_YET_VALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_ISSUER_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_KIND_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.TOKEN_CLAIMS_INVALID]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.ROOM_NOT_FOUND]: [Code.NotFound, StatusCode.ROOM_NOT_FOUND],
  [FailureReason.ROOM_NOT_ACTIVE]: [Code.FailedPrecondition, StatusCode.ROOM_NOT_ACTIVE],
  [FailureReason.USER_NOT_FOUND]: [Code.PermissionDenied, StatusCode.USER_NOT_FOUND],
  [FailureReason.USER_BLOCKED]: [Code.PermissionDenied, StatusCode.USER_BLOCKED],
  [FailureReason.USER_ALREADY_ONLINE]: [Code.AlreadyExists, StatusCode.CONFLICT],
  [FailureReason.ROOM_FULL]: [Code.ResourceExhausted, StatusCode.PERMISSION_DENIED],
  [FailureReason.RESERVED_IDENTITY]: [Code.InvalidArgument, StatusCode.INVALID_PARAMETERS],
  [FailureReason.USER_WAITING_FOR_APPROVAL]: [Code.PermissionDenied, StatusCode.USER_NOT_ACTIVE],
  [FailureReason.INTERNAL]: [Code.Internal, StatusCode.INTERNAL_SERVER_ERROR],
  [FailureReason.ROOM_SETTINGS_CONFLICT]: [Code.AlreadyExists, StatusCode.CONFLICT],
  [FailureReason.CONNECTION_TYPE_NOT_ALLOWED]: [Code.PermissionDenied, StatusCode.PERMISSION_DENIED],
  [FailureReason.USER_REMOVED]: [Code.PermissionDenied, StatusCode.USER_NOT_ACTIVE],
  [FailureReason.ROOM_ENDED]: [Code.FailedPrecondition, StatusCode.ROOM_NOT_ACTIVE],
  [FailureReason.MEDIA_UNAVAILABLE]: [Code.Unavailable, StatusCode.INTERNAL_SERVER_ERROR],
  [FailureReason.SIGNATURE_EXPIRED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.SIGNATURE_REPLAYED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.SIGNATURE_VERSION_REQUIRED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.SESSION_EXPIRED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.USER_DENIED]: [Code.PermissionDenied, StatusCode.USER_NOT_ACTIVE],
  [FailureReason.TOKEN_SUPERSEDED]: [Code.Unauthenticated, StatusCode.INVALID_TOKEN_OR_SIGNATURE],
  [FailureReason.ADMIN_REQUIRED]: [Code.PermissionDenied, StatusCode.PERMISSION_DENIED],
  [FailureReason.USER_NOT_WAITING]: [Code.FailedPrecondition, StatusCode.CONFLICT],
  [FailureReason.RATE_LIMITED]: [Code.ResourceExhausted, StatusCode.PERMISSION_DENIED],
  [FailureReason.NATS_UNAVAILABLE]: [Code.Unavailable, StatusCode.INTERNAL_SERVER_ERROR],
};

/** The one error type pnm raises: a ConnectError whose ErrorDetail names the reason. */
export function pnmError(
  reason: FailureReason,
  message: string,
  extraDetails: ConstructorParameters<typeof ConnectError>[3] = [],
  cause?: unknown,
): ConnectError {
  const [code, statusCode] = byReason[reason];
  return new ConnectError(
    message,
    code,
    undefined,
    [{ desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { reason, statusCode }) }, ...extraDetails],
    cause,
  );
}

/** What a caller is told about a failure, on every protocol. */
export interface FailureInfo {
  /** The Connect / gRPC code. */
  code: Code;
  /** Text safe to show the caller: "internal error" for anything that is not a pnm error. */
  message: string;
  /** The contract's reason. */
  reason: FailureReason;
  /** Upstream's status code, for the REST routes. */
  statusCode: StatusCode;
}

/**
 * NATS could not serve a request for now: nobody answered (JetStream between
 * leaders after a node of a cluster went down), the request timed out, or
 * JetStream said it is temporarily unavailable (503). Read through causes,
 * as the JetStream client wraps them.
 */
function isNatsUnavailable(err: unknown): boolean {
  for (let depth = 0; depth < 4 && err instanceof Error; depth++, err = err.cause) {
    if (err instanceof NoRespondersError || err instanceof TimeoutError) return true;
    if (err instanceof RequestError && err.isNoResponders()) return true;
    if (err instanceof JetStreamApiError && err.status === 503) return true;
  }
  return false;
}

/**
 * Reads what a caller needs from any thrown value. Anything that is not a pnm
 * error is reported as internal without its text, so no stack or library
 * message leaks to callers; NATS unable to serve for now is NATS_UNAVAILABLE,
 * which callers may retry.
 */
export function failureInfo(err: unknown): FailureInfo {
  if (err instanceof ConnectError) {
    const detail = err.findDetails(ErrorDetailSchema)[0];
    if (detail) {
      return { code: err.code, message: err.rawMessage, reason: detail.reason, statusCode: detail.statusCode };
    }
    if (err.code === Code.ResourceExhausted) {
      return {
        code: err.code,
        message: err.rawMessage,
        reason: FailureReason.BODY_TOO_LARGE,
        statusCode: StatusCode.INVALID_PARAMETERS,
      };
    }
    if (err.code === Code.InvalidArgument) {
      return {
        code: err.code,
        message: err.rawMessage,
        reason: FailureReason.BODY_MALFORMED,
        statusCode: StatusCode.INVALID_PARAMETERS,
      };
    }
  }
  if (isNatsUnavailable(err)) {
    const [code, statusCode] = byReason[FailureReason.NATS_UNAVAILABLE];
    const message = "NATS cannot serve this request at the moment; try again shortly";
    return { code, message, reason: FailureReason.NATS_UNAVAILABLE, statusCode };
  }
  return {
    code: Code.Internal,
    message: "internal error",
    reason: FailureReason.INTERNAL,
    statusCode: StatusCode.INTERNAL_SERVER_ERROR,
  };
}
