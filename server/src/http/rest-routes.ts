import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CommonResponseSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  CreateRoomRequestSchema,
  CreateRoomResponseSchema,
  EndRoomRequestSchema,
  EndRoomResponseSchema,
  IsRoomActiveRequestSchema,
  IsRoomActiveResponseSchema,
} from "@pnm/protocol/pnm/v1/create_room_pb";
import { GetJoinTokenRequestSchema, GetJoinTokenResponseSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import {
  ApproveParticipantRequestSchema,
  ApproveParticipantResponseSchema,
  DenyParticipantRequestSchema,
  DenyParticipantResponseSchema,
  RemoveParticipantRequestSchema,
  RemoveParticipantResponseSchema,
} from "@pnm/protocol/pnm/v1/participants_pb";
import { VerifyTokenRequestSchema, VerifyTokenResponseSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import type { ApiSignatureVerifier, BodySignatureCheck } from "../auth/api-signature.js";
import { type FailureInfo, failureInfo, pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PnmMetrics } from "../metrics.js";
import { type ParticipantService, tokenFromAuthorization } from "../services/participant-service.js";
import type { RoomService } from "../services/room-service.js";
import { headerValue, type NodeHandler, type NodeRequest, type NodeResponse } from "./connect-routes.js";
import { clientGone, contentCoding, encodingRefusal, guardBody } from "./request-body-guard.js";
import { noteAborted, noteFailure, observeRequests } from "./request-log.js";
import { fromUpstreamJson, statusCodeName, toUpstreamJson } from "./upstream-json.js";

/** The services behind upstream's REST routes and how their requests are checked. */
export interface RestRoutesOptions {
  /** Serves /auth/room/*, whose requests must be signed. */
  rooms: RoomService;
  /** Serves /api/verifyToken, authenticated by the access token. */
  participants: ParticipantService;
  /** Checks the API key and HASH-SIGNATURE of /auth/room/* requests. */
  signature: ApiSignatureVerifier;
  /** Largest request body accepted, in bytes; a larger one gets HTTP 413. */
  maxBodyBytes: number;
  /** Hears about internal errors, whose text callers never see, and gets a line per request. */
  logger: Logger;
  /** Counts requests by RPC and outcome. */
  metrics?: PnmMetrics;
  /** As ConnectRoutesOptions.unavailable; the refusal is answered with HTTP 503. */
  unavailable?: () => ConnectError | undefined;
}

/** Messages upstream's web client translates, for the refusals of /api/verifyToken. */
const upstreamVerifyMessages: Partial<Record<FailureReason, string>> = {
  [FailureReason.TOKEN_MISSING]: "notifications.auth-header-missing",
  [FailureReason.TOKEN_EXPIRED]: "notifications.token-expired",
  [FailureReason.ROOM_NOT_FOUND]: "notifications.room-not-active",
  [FailureReason.ROOM_NOT_ACTIVE]: "notifications.room-not-active",
  [FailureReason.USER_NOT_FOUND]: "notifications.user-info-not-found",
  [FailureReason.USER_REMOVED]: "notifications.user-info-not-found",
  [FailureReason.USER_DENIED]: "notifications.user-info-not-found",
  [FailureReason.USER_ALREADY_ONLINE]: "notifications.room-disconnected-duplicate-entry",
  [FailureReason.USER_BLOCKED]: "notifications.you-are-blocked",
  [FailureReason.ROOM_FULL]: "notifications.max-num-participates-exceeded",
};

/** Upstream's REST routes: /auth/room/* (HMAC-signed protojson) and /api/verifyToken (binary). */
export function createRestRoutes(options: RestRoutesOptions): Map<string, NodeHandler> {
  const { rooms, participants } = options;

  function signedJson<Req extends DescMessage, Res extends DescMessage>(
    path: string,
    requestSchema: Req,
    responseSchema: Res,
    call: (request: MessageShape<Req>) => Promise<MessageShape<Res>>,
  ): NodeHandler {
    return (req, res) =>
      void (async () => {
        try {
          if (req.method !== "POST") return sendMethodNotAllowed(res);
          const signature = options.signature.begin((name) => headerValue(req, name), { method: req.method, path });
          const body = await readGuarded(req, options.maxBodyBytes, signature, options.unavailable?.());
          const request = decode(() => fromUpstreamJson(requestSchema, JSON.parse(body.toString("utf8"))));
          sendJson(res, 200, toUpstreamJson(responseSchema, await call(request)));
        } catch (err) {
          if (err instanceof RequestAborted) return aborted(req, path);
          const info = describeFailure(req, err);
          const status = codingRefused(req, info) ? 415 : httpStatus(info);
          if (isProtobuf(req)) {
            send(
              res,
              req,
              status,
              "application/protobuf",
              toBinary(CommonResponseSchema, create(CommonResponseSchema, { status: false, msg: info.message })),
              info,
            );
          } else {
            send(
              res,
              req,
              status,
              "application/json",
              JSON.stringify({ status: false, msg: info.message, status_code: statusCodeName(info.statusCode) }),
              info,
            );
          }
        }
      })();
  }

  const verifyToken: NodeHandler = (req, res) =>
    void (async () => {
      try {
        if (req.method !== "POST") return sendMethodNotAllowed(res);
        const token = tokenFromAuthorization(headerValue(req, "authorization"));
        const body = await readGuarded(req, options.maxBodyBytes, undefined, options.unavailable?.());
        const request = decode(() => fromBinary(VerifyTokenRequestSchema, body));
        const answer = await participants.verifyToken(request, token);
        send(res, req, 200, "application/protobuf", toBinary(VerifyTokenResponseSchema, answer));
      } catch (err) {
        if (err instanceof RequestAborted) return aborted(req, "/api/verifyToken");
        const info = describeFailure(req, err);
        const msg =
          upstreamVerifyMessages[info.reason] ??
          (info.code === Code.Unauthenticated ? "notifications.invalid-token" : info.message);
        // Upstream's /api guard refuses bad tokens and inactive rooms with 401; later checks answer 200.
        const unauthorized =
          info.code === Code.Unauthenticated ||
          info.reason === FailureReason.ROOM_NOT_FOUND ||
          info.reason === FailureReason.ROOM_NOT_ACTIVE;
        const status = codingRefused(req, info)
          ? 415
          : info.reason === FailureReason.BODY_TOO_LARGE
            ? 413
            : info.reason === FailureReason.NATS_UNAVAILABLE
              ? 503
              : unauthorized
                ? 401
                : 200;
        // status_code stays unset: upstream clients may decode this body as VerifyTokenRes, whose field 3 is a string list.
        send(
          res,
          req,
          status,
          "application/protobuf",
          toBinary(CommonResponseSchema, create(CommonResponseSchema, { status: false, msg })),
          info,
        );
      }
    })();

  function aborted(req: NodeRequest, path: string): void {
    noteAborted(req);
    options.logger.debug?.(`${path}: the client went away before its request ended`);
  }

  function describeFailure(req: NodeRequest, err: unknown): FailureInfo {
    noteFailure(req, err);
    const info = failureInfo(err);
    if (info.reason !== FailureReason.INTERNAL) return info;
    const down = options.unavailable?.();
    if (down) return failureInfo(down);
    options.logger.error("request failed", err);
    return info;
  }

  const routes = new Map<string, NodeHandler>([
    [
      "/auth/room/create",
      signedJson("/auth/room/create", CreateRoomRequestSchema, CreateRoomResponseSchema, (r) => rooms.createRoom(r)),
    ],
    [
      "/auth/room/getJoinToken",
      signedJson("/auth/room/getJoinToken", GetJoinTokenRequestSchema, GetJoinTokenResponseSchema, (r) =>
        rooms.getJoinToken(r),
      ),
    ],
    [
      "/auth/room/isRoomActive",
      signedJson("/auth/room/isRoomActive", IsRoomActiveRequestSchema, IsRoomActiveResponseSchema, (r) =>
        rooms.isRoomActive(r),
      ),
    ],
    [
      "/auth/room/endRoom",
      signedJson("/auth/room/endRoom", EndRoomRequestSchema, EndRoomResponseSchema, (r) => rooms.endRoom(r)),
    ],
    [
      "/auth/room/removeParticipant",
      signedJson("/auth/room/removeParticipant", RemoveParticipantRequestSchema, RemoveParticipantResponseSchema, (r) =>
        rooms.removeParticipant(r),
      ),
    ],
    [
      "/auth/room/approveParticipant",
      signedJson(
        "/auth/room/approveParticipant",
        ApproveParticipantRequestSchema,
        ApproveParticipantResponseSchema,
        (r) => rooms.approveParticipant(r),
      ),
    ],
    [
      "/auth/room/denyParticipant",
      signedJson("/auth/room/denyParticipant", DenyParticipantRequestSchema, DenyParticipantResponseSchema, (r) =>
        rooms.denyParticipant(r),
      ),
    ],
    ["/api/verifyToken", verifyToken],
  ]);
  for (const [path, route] of routes) routes.set(path, observeRequests(options, path, restMethods[path]!, route));
  return routes;
}

/** The RPC each REST route serves, for its log lines and metrics. */
const restMethods: Record<string, string> = {
  "/auth/room/create": "CreateRoom",
  "/auth/room/getJoinToken": "GetJoinToken",
  "/auth/room/isRoomActive": "IsRoomActive",
  "/auth/room/endRoom": "EndRoom",
  "/auth/room/removeParticipant": "RemoveParticipant",
  "/auth/room/approveParticipant": "ApproveParticipant",
  "/auth/room/denyParticipant": "DenyParticipant",
  "/api/verifyToken": "VerifyToken",
};

/** The body stopped arriving: the client went away or ran out of time. There is no one to answer, and nothing failed here. */
class RequestAborted extends Error {}

/**
 * The whole body, through the same guard as the RPC routes (the signature's
 * refusals first, then a compressed body's, the limit, the signature).
 */
async function readGuarded(
  req: NodeRequest,
  limit: number,
  signature?: BodySignatureCheck,
  unavailable?: Error,
): Promise<Buffer> {
  const announced = headerValue(req, "content-length");
  const options = {
    limit,
    announcedLength: announced === undefined ? undefined : Number(announced),
    signature,
    refusal: encodingRefusal((name) => headerValue(req, name)) ?? unavailable,
  };
  let body = Buffer.alloc(0);
  try {
    for await (const whole of guardBody(req as AsyncIterable<Uint8Array>, options)) {
      body = Buffer.from(whole);
    }
  } catch (err) {
    // The guard refuses with pnm errors; a request whose client went away mid-body is no failure of ours.
    if (err instanceof ConnectError || !clientGone(req)) throw err;
    throw new RequestAborted("request body aborted", { cause: err });
  }
  return body;
}

/** Whether `info` is the refusal of a compressed body (see encodingRefusal): HTTP's 415, rather than upstream's 200 for a malformed one. */
function codingRefused(req: NodeRequest, info: FailureInfo): boolean {
  return info.reason === FailureReason.BODY_MALFORMED && contentCoding((name) => headerValue(req, name)) !== undefined;
}

function decode<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw pnmError(FailureReason.BODY_MALFORMED, `request body could not be decoded: ${(err as Error).message}`);
  }
}

function httpStatus(info: FailureInfo): number {
  if (info.code === Code.Unauthenticated) return 401;
  if (info.reason === FailureReason.BODY_TOO_LARGE) return 413;
  if (info.reason === FailureReason.NATS_UNAVAILABLE) return 503;
  return 200;
}

function isProtobuf(req: NodeRequest): boolean {
  return headerValue(req, "content-type") === "application/protobuf";
}

function sendJson(res: NodeResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function sendMethodNotAllowed(res: NodeResponse): void {
  res.writeHead(405, { allow: "POST", "content-type": "text/plain" });
  res.end("method not allowed");
}

function send(
  res: NodeResponse,
  req: NodeRequest,
  status: number,
  contentType: string,
  body: string | Uint8Array,
  failure?: FailureInfo,
): void {
  const headers: Record<string, string> = { "content-type": contentType };
  if (failure) headers["pnm-failure-reason"] = FailureReason[failure.reason];
  // 415 answers a compressed body: only uncompressed ones are read (RFC 9110 §15.5.16).
  if (status === 415) headers["accept-encoding"] = "identity";
  // An unread HTTP/1.1 body would otherwise be parsed as the next request.
  if (!req.readableEnded && req.httpVersionMajor === 1) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(body);
}
