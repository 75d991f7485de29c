import { Code } from "@connectrpc/connect";
import type { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";

/** A FailureReason value name without its prefix, e.g. `SIGNATURE_INVALID`: what cases write. */
export type ReasonName = Exclude<keyof typeof FailureReason, "UNSPECIFIED">;

/** What a refusal looks like on each kind of route. */
export interface FailureForm {
  /** Connect code on the RPC transports. */
  code: Code;
  /** Upstream StatusCode name: REST `status_code`, and ErrorDetail.status_code on RPC. */
  statusCode: string;
  /** HTTP status on the signed REST routes (`/auth/room/*`). */
  restStatus: number;
  /** Exact upstream `msg` on the signed REST routes, where upstream fixes it. */
  restMsg?: string;
  /** HTTP status on `/api/verifyToken`. */
  verifyStatus: number;
  /** Exact upstream `msg` on `/api/verifyToken`: upstream's web client translates it. */
  verifyMsg?: string;
}

const invalidToken = "notifications.invalid-token";
const roomNotActive = "notifications.room-not-active";

// The contract's mapping (docs/upstream-wire-contract.md §2.4, §4.3, §7 for REST;
// pnm's ErrorDetail for RPC). Written out here rather than imported, because
// the harness checks servers that do not share pnm's code.
// [reason, code, status_code, REST status, REST msg, verifyToken status, verifyToken msg]
type Row = [ReasonName, Code, string, number, string | undefined, number, string | undefined];
const rows: Row[] = [
  [
    "API_KEY_MISSING",
    Code.Unauthenticated,
    "MISSING_REQUIRED_PARAMETER",
    401,
    "Missing API-KEY header.",
    401,
    undefined,
  ],
  ["API_KEY_INVALID", Code.Unauthenticated, "INVALID_API_KEY", 401, "Invalid API key provided.", 401, undefined],
  [
    "SIGNATURE_MISSING",
    Code.Unauthenticated,
    "MISSING_REQUIRED_PARAMETER",
    401,
    "Missing HASH-SIGNATURE header.",
    401,
    undefined,
  ],
  [
    "SIGNATURE_INVALID",
    Code.Unauthenticated,
    "INVALID_TOKEN_OR_SIGNATURE",
    401,
    "Failed to verify provided authentication details.",
    401,
    undefined,
  ],
  ["BODY_TOO_LARGE", Code.ResourceExhausted, "INVALID_PARAMETERS", 413, undefined, 413, undefined],
  ["BODY_MALFORMED", Code.InvalidArgument, "INVALID_PARAMETERS", 200, undefined, 200, undefined],
  ["INVALID_ARGUMENT", Code.InvalidArgument, "INVALID_PARAMETERS", 200, undefined, 200, undefined],
  [
    "TOKEN_MISSING",
    Code.Unauthenticated,
    "MISSING_REQUIRED_PARAMETER",
    401,
    undefined,
    401,
    "notifications.auth-header-missing",
  ],
  ["TOKEN_MALFORMED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  [
    "TOKEN_ALGORITHM_NOT_ALLOWED",
    Code.Unauthenticated,
    "INVALID_TOKEN_OR_SIGNATURE",
    401,
    undefined,
    401,
    invalidToken,
  ],
  ["TOKEN_SIGNATURE_INVALID", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  [
    "TOKEN_EXPIRED",
    Code.Unauthenticated,
    "INVALID_TOKEN_OR_SIGNATURE",
    401,
    undefined,
    401,
    "notifications.token-expired",
  ],
  ["TOKEN_NOT_YET_VALID", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["TOKEN_ISSUER_INVALID", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["TOKEN_KIND_INVALID", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["TOKEN_CLAIMS_INVALID", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["ROOM_NOT_FOUND", Code.NotFound, "ROOM_NOT_FOUND", 200, undefined, 401, roomNotActive],
  ["ROOM_NOT_ACTIVE", Code.FailedPrecondition, "ROOM_NOT_ACTIVE", 200, undefined, 401, roomNotActive],
  ["USER_NOT_FOUND", Code.PermissionDenied, "USER_NOT_FOUND", 200, undefined, 200, "notifications.user-info-not-found"],
  ["USER_BLOCKED", Code.PermissionDenied, "USER_BLOCKED", 200, undefined, 200, "notifications.you-are-blocked"],
  [
    "USER_ALREADY_ONLINE",
    Code.AlreadyExists,
    "CONFLICT",
    200,
    undefined,
    200,
    "notifications.room-disconnected-duplicate-entry",
  ],
  [
    "ROOM_FULL",
    Code.ResourceExhausted,
    "PERMISSION_DENIED",
    200,
    undefined,
    200,
    "notifications.max-num-participates-exceeded",
  ],
  ["RESERVED_IDENTITY", Code.InvalidArgument, "INVALID_PARAMETERS", 200, undefined, 200, undefined],
  ["USER_WAITING_FOR_APPROVAL", Code.PermissionDenied, "USER_NOT_ACTIVE", 200, undefined, 200, undefined],
  ["INTERNAL", Code.Internal, "INTERNAL_SERVER_ERROR", 200, undefined, 200, undefined],
  ["ROOM_SETTINGS_CONFLICT", Code.AlreadyExists, "CONFLICT", 200, undefined, 200, undefined],
  ["CONNECTION_TYPE_NOT_ALLOWED", Code.PermissionDenied, "PERMISSION_DENIED", 200, undefined, 200, undefined],
  ["USER_REMOVED", Code.PermissionDenied, "USER_NOT_ACTIVE", 200, undefined, 200, undefined],
  ["ROOM_ENDED", Code.FailedPrecondition, "ROOM_NOT_ACTIVE", 200, undefined, 200, undefined],
  ["MEDIA_UNAVAILABLE", Code.Unavailable, "INTERNAL_SERVER_ERROR", 200, undefined, 200, undefined],
  // PNM-SIGNATURE (v2) refusals: pnm's own, so upstream fixes no msg for them.
  ["SIGNATURE_EXPIRED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, undefined],
  ["SIGNATURE_REPLAYED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, undefined],
  ["SIGNATURE_VERSION_REQUIRED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, undefined],
  // pnm's own: session age, the waiting room's decisions, superseded tokens.
  ["SESSION_EXPIRED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["USER_DENIED", Code.PermissionDenied, "USER_NOT_ACTIVE", 200, undefined, 200, "notifications.user-info-not-found"],
  ["TOKEN_SUPERSEDED", Code.Unauthenticated, "INVALID_TOKEN_OR_SIGNATURE", 401, undefined, 401, invalidToken],
  ["ADMIN_REQUIRED", Code.PermissionDenied, "PERMISSION_DENIED", 200, undefined, 200, undefined],
  ["USER_NOT_WAITING", Code.FailedPrecondition, "CONFLICT", 200, undefined, 200, undefined],
  // NATS only (request answers, SESSION_ENDED): no route refuses with it.
  ["RATE_LIMITED", Code.ResourceExhausted, "PERMISSION_DENIED", 200, undefined, 200, undefined],
  // The server cannot reach NATS: refused at once, 503 on the REST routes (pnm's own).
  ["NATS_UNAVAILABLE", Code.Unavailable, "INTERNAL_SERVER_ERROR", 503, undefined, 503, undefined],
];

export const failureTable: ReadonlyMap<ReasonName, FailureForm> = new Map(
  rows.map(([reason, code, statusCode, restStatus, restMsg, verifyStatus, verifyMsg]) => [
    reason,
    { code, statusCode, restStatus, restMsg, verifyStatus, verifyMsg },
  ]),
);

export function isReasonName(value: unknown): value is ReasonName {
  return typeof value === "string" && failureTable.has(value as ReasonName);
}
