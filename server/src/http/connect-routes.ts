import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { create, type DescMethod, isMessage, type Message, toBinary, toJsonString } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  mergeNonProtocolHeaders,
  type UniversalHandler,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  errorToJsonBytes,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { ParticipantService as ParticipantServiceDesc } from "@pnm/protocol/pnm/v1/participant_service_pb";
import { RoomService as RoomServiceDesc } from "@pnm/protocol/pnm/v1/room_service_pb";
import type { VerifyTokenRequest } from "@pnm/protocol/pnm/v1/verify_token_pb";
import type { ApiSignatureVerifier, BodySignatureCheck, SignedFraming } from "../auth/api-signature.js";
import { failureInfo, pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PnmMetrics } from "../metrics.js";
import { type ParticipantService, tokenFromAuthorization } from "../services/participant-service.js";
import type { RoomService } from "../services/room-service.js";
import {
  BodyAborted,
  type BodyGuardOptions,
  clientGone,
  encodingRefusal,
  guardBody,
  type RpcBodyKind,
  readGuardedBody,
  requestDecodeCheck,
  rpcBodyKind,
} from "./request-body-guard.js";
import { noteAborted, noteFailure, observeRequests, type RequestRecord, requestRecord } from "./request-log.js";

const opaqueCodes = new Set([Code.Internal, Code.Unknown]);

/** A request from node:http or node:http2 (compat API). */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** A response of node:http or node:http2 (compat API). */
export type NodeResponse = ServerResponse | Http2ServerResponse;
/** A route: answers one request, on HTTP/1.1 or HTTP/2. */
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/** The services behind the routes and how their requests are checked. */
export interface ConnectRoutesOptions {
  /** Serves RoomService, whose requests must be signed. */
  rooms: RoomService;
  /** Serves ParticipantService (VerifyToken), authenticated by the access token. */
  participants: ParticipantService;
  /** Checks the API key and HASH-SIGNATURE of RoomService requests. */
  signature: ApiSignatureVerifier;
  /** Largest request body accepted, in bytes; a larger one is refused (BODY_TOO_LARGE) before it is read whole. */
  maxBodyBytes: number;
  /** Hears about internal errors, whose text callers never see, and gets a line per request. */
  logger: Logger;
  /** Counts requests by RPC and outcome. */
  metrics?: PnmMetrics;
  /**
   * The refusal (NATS_UNAVAILABLE) while NATS, which the services need, is
   * out of reach; undefined when it is there. A request is then refused at
   * once, and one whose service failed meanwhile reports it, not `internal`.
   */
  unavailable?: () => ConnectError | undefined;
}

/** The request's record (request-log.ts), for the interceptor, which sees Connect's request only. */
const recordKey = createContextKey<RequestRecord | undefined>(undefined);

/**
 * Connect, gRPC-web and gRPC for both services. Every body passes the body
 * guard; RoomService bodies are also signed (over the message: a Connect
 * unary body, the payload of a gRPC / gRPC-web envelope). Connect unary
 * requests, the API's hot path, are served here (serveConnectUnary); gRPC and
 * gRPC-web by Connect's handlers, the guard on the body's way into Connect: a
 * refusal fails the body stream, so Connect answers with the pnm error in the
 * caller's protocol and the handler never runs (Connect reads a unary body
 * whole before it decodes it).
 */
export function createConnectRoutes(options: ConnectRoutesOptions): Map<string, NodeHandler> {
  const { rooms, participants } = options;
  // Errors that are not pnm's own (a NATS outage, a bug) reach the caller as
  // a bare `internal`, so no library text or stack leaks out.
  const publicError = (err: unknown, method: string, record: RequestRecord | undefined): ConnectError => {
    const shown = shownError(err, method);
    if (record) record.failure = shown;
    return shown;
  };
  const shownError = (err: unknown, method: string): ConnectError => {
    if (err instanceof ConnectError && (err.findDetails(ErrorDetailSchema).length > 0 || !opaqueCodes.has(err.code)))
      return err;
    const down = options.unavailable?.();
    if (down) return down;
    // NATS unable to serve for now (a cluster electing a JetStream leader): a refusal to retry, not a fault.
    const info = failureInfo(err);
    if (info.reason === FailureReason.NATS_UNAVAILABLE) return pnmError(info.reason, info.message);
    options.logger.error(`${method} failed`, err);
    return pnmError(FailureReason.INTERNAL, "internal error");
  };
  const hideInternalErrors: Interceptor = (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw publicError(err, req.method.name, req.contextValues.get(recordKey));
    }
  };
  const router = createConnectRouter({
    // The body guard enforces maxBodyBytes with a pnm error; Connect's own limit only backs it up.
    readMaxBytes: options.maxBodyBytes * 2,
    interceptors: [hideInternalErrors],
    jsonOptions: { ignoreUnknownFields: true },
  });
  // Each RPC once, for Connect's router and for the Connect unary path.
  const roomCalls = {
    createRoom: (req) => rooms.createRoom(req),
    getJoinToken: (req) => rooms.getJoinToken(req),
    isRoomActive: (req) => rooms.isRoomActive(req),
    endRoom: (req) => rooms.endRoom(req),
    removeParticipant: (req) => rooms.removeParticipant(req),
    approveParticipant: (req) => rooms.approveParticipant(req),
    denyParticipant: (req) => rooms.denyParticipant(req),
  } satisfies ServiceImpl<typeof RoomServiceDesc>;
  const participantCalls = {
    verifyToken: (req: VerifyTokenRequest, header: (name: string) => string | undefined) =>
      participants.verifyToken(req, tokenFromAuthorization(header("authorization"))),
  };
  router.service(RoomServiceDesc, roomCalls);
  router.service(ParticipantServiceDesc, {
    verifyToken: (req, ctx) => participantCalls.verifyToken(req, (name) => ctx.requestHeader.get(name) ?? undefined),
  });
  // By service type name and method local name; each is handed only its own method's input.
  const unaryCalls = {
    [RoomServiceDesc.typeName]: roomCalls,
    [ParticipantServiceDesc.typeName]: participantCalls,
  } as unknown as Record<string, Record<string, UnaryCall>>;

  const routes = new Map<string, NodeHandler>();
  for (const handler of router.handlers) {
    const signed = handler.service.typeName === RoomServiceDesc.typeName;
    const input = handler.method.input;
    const unary: UnaryRoute = {
      method: handler.method,
      call: unaryCalls[handler.service.typeName]![handler.method.localName]!,
      decodeJson: requestDecodeCheck(input, { framing: "body", json: true }),
      decodeProto: requestDecodeCheck(input, { framing: "body", json: false }),
    };
    routes.set(
      handler.requestPath,
      observeRequests(options, handler.requestPath, handler.method.name, (req, res) =>
        serve(handler, unary, signed, req, res),
      ),
    );
  }
  return routes;

  function serve(
    handler: UniversalHandler,
    unary: UnaryRoute,
    signed: boolean,
    req: NodeRequest,
    res: NodeResponse,
  ): void {
    const header = (name: string) => headerValue(req, name);
    // Anyone can hang up mid-request: that is no failure of pnm's, and must not fill the error log.
    const gone = () => {
      noteAborted(req);
      options.logger.debug?.(`${handler.requestPath}: the client went away before it was answered`);
    };
    const failed = (err: unknown) => {
      if (clientGone(req) || ConnectError.from(err).code === Code.Aborted) gone();
      else options.logger.error("response could not be written", err);
    };
    const answer = async (uRes: UniversalServerResponse) => {
      if (clientGone(req)) {
        // Ends the answer unread, which also ends the call's context (and any deadline timer).
        await Promise.resolve(uRes.body?.[Symbol.asyncIterator]().return?.()).catch(() => undefined);
        return gone();
      }
      await universalResponseToNodeResponse(uRes, res as ServerResponse).catch(failed);
    };
    const kind = rpcBodyKind(header("content-type"));
    // Connect answers a content type it does not serve with a bare 415 (a non-POST with 405, left to it).
    if (req.method === "POST" && !kind) {
      noteFailure(req, unsupportedContentTypeError(header("content-type")));
      return void answer(unsupportedContentType(header("content-type")));
    }
    let signature: BodySignatureCheck | Error | undefined;
    if (signed) {
      try {
        // The route is matched on the exact path, so requestPath is the path the client sent (and signed, for v2).
        signature = options.signature.begin(header, {
          method: req.method ?? "",
          path: handler.requestPath,
          framing: signedFraming(header("content-type")),
        });
      } catch (err) {
        signature = err as Error;
      }
    }
    // Connect refuses a content coding it was not given (none: see
    // encodingRefusal), a malformed timeout and an announced length over its
    // own limit before it reads the body, with no ErrorDetail. The guard
    // refuses the first two instead, after any refusal of the signature
    // (upstream's order), and enforces the length itself.
    const timeout = kind && readTimeout(header, kind);
    const refusal = encodingRefusal(header) ?? timeout?.refusal ?? options.unavailable?.();
    const announced = header("content-length");
    const guard = {
      limit: options.maxBodyBytes,
      announcedLength: announced === undefined ? undefined : Number(announced),
      signature,
      refusal,
    };
    if (req.method === "POST" && kind?.framing === "body") {
      return void serveConnectUnary(unary, kind.json, guard, req, res, answer, gone).catch(failed);
    }
    const contextValues = createContextValues().set(recordKey, requestRecord(req));
    const uReq = universalRequestFromNodeRequest(
      req as IncomingMessage,
      res as ServerResponse,
      undefined,
      contextValues,
    );
    for (const name of ["content-encoding", "grpc-encoding", "content-length"]) uReq.header.delete(name);
    if (timeout && (refusal || timeout.unbounded)) uReq.header.delete(timeout.name);
    uReq.body = notingRefusals(
      req,
      guardBody(uReq.body as AsyncIterable<Uint8Array>, {
        ...guard,
        decodeCheck: kind && requestDecodeCheck(handler.method.input, kind),
      }),
    );
    handler(uReq).then(answer, failed);
  }

  /**
   * A Connect unary request (POST, the body is the message) served without
   * Connect's per-request machinery (a universal request, abort controllers,
   * a handler context, header objects, async iterators and a second decode of
   * the body) and answered as Connect answers it: the message with its
   * content type and length, or the error as Connect's JSON error body. The
   * body passes the same guard; the handler's errors go through the same
   * filter as the interceptor's.
   */
  async function serveConnectUnary(
    unary: UnaryRoute,
    json: boolean,
    guard: BodyGuardOptions,
    req: NodeRequest,
    res: NodeResponse,
    answer: (uRes: UniversalServerResponse) => Promise<void>,
    gone: () => void,
  ): Promise<void> {
    let input: Message;
    try {
      const body = await readGuardedBody(req, guard);
      input = (json ? unary.decodeJson : unary.decodeProto)(body);
    } catch (err) {
      // A refusal of the guard's is a pnm error, answered as it is; a body cut off has no one to answer.
      if (err instanceof BodyAborted || clientGone(req)) return gone();
      return answer(connectErrorResponse(publicError(err, unary.method.name, requestRecord(req))));
    }
    let body: Uint8Array;
    try {
      const output = await unary.call(input, (name) => headerValue(req, name));
      const message = isMessage(output, unary.method.output) ? output : create(unary.method.output, output);
      body = json ? utf8.encode(toJsonString(unary.method.output, message)) : toBinary(unary.method.output, message);
    } catch (err) {
      return answer(connectErrorResponse(publicError(err, unary.method.name, requestRecord(req))));
    }
    if (clientGone(req)) return gone();
    res.writeHead(200, {
      "content-type": json ? connectUnaryJson : connectUnaryProto,
      "content-length": body.byteLength,
    });
    res.end(body);
  }
}

/** One RPC's implementation: its input message, the request's headers (by lower-case name) to read. */
type UnaryCall = (request: Message, header: (name: string) => string | undefined) => Promise<Message>;

/** A route's RPC for the Connect unary path, with its body decoders made once. */
interface UnaryRoute {
  method: DescMethod;
  call: UnaryCall;
  decodeJson: (body: Uint8Array) => Message;
  decodeProto: (body: Uint8Array) => Message;
}

const utf8 = new TextEncoder();
const connectUnaryJson = "application/json";
const connectUnaryProto = "application/proto";

/** A failed Connect unary call as Connect answers it: the HTTP status of its code, the error as JSON, its metadata as headers. */
function connectErrorResponse(error: ConnectError): UniversalServerResponse {
  const body = errorToJsonBytes(error, {});
  const header = new Headers({ "content-type": connectUnaryJson });
  if (!error.isWireError) mergeNonProtocolHeaders(header, error.metadata);
  header.set("content-length", String(body.byteLength));
  return { status: codeToHttpStatus(error.code), header, body: createAsyncIterable([body]) };
}

/** The longest delay a Node.js timer holds (about 24.8 days); a longer one fires at once. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * The request's timeout header, read as Connect reads it: `refusal` when
 * Connect would refuse it (as a pnm error); `unbounded` when it is longer
 * than a Node.js timer holds, which would make Connect's deadline expire at
 * once: a deadline weeks away is no deadline, so the header is dropped.
 */
function readTimeout(
  header: (name: string) => string | undefined,
  kind: RpcBodyKind,
): { name: string; refusal?: ConnectError; unbounded: boolean } | undefined {
  const [name, parse] =
    kind.framing === "envelope"
      ? (["grpc-timeout", parseGrpcTimeout] as const)
      : (["connect-timeout-ms", parseConnectTimeout] as const);
  const value = header(name);
  if (value === undefined) return undefined;
  const parsed = parse(value, Number.MAX_SAFE_INTEGER);
  if (parsed.error)
    return {
      name,
      refusal: pnmError(FailureReason.INVALID_ARGUMENT, `the ${name} header is not a valid timeout`),
      unbounded: false,
    };
  return { name, unbounded: (parsed.timeoutMs ?? 0) > maxTimerMs };
}

/**
 * The answer to a request whose content type no protocol on the route reads:
 * 415, as Connect and gRPC answer it, with the error as a Connect error body
 * (the only protocol whose errors are bodies) and the reason in the
 * `pnm-failure-reason` header, which any client can read.
 */
function unsupportedContentType(contentType: string | undefined): UniversalServerResponse {
  const err = unsupportedContentTypeError(contentType);
  const body = errorToJsonBytes(err, {});
  return {
    status: 415,
    header: new Headers({
      "content-type": "application/json",
      "content-length": String(body.byteLength),
      "pnm-failure-reason": FailureReason[FailureReason.BODY_MALFORMED],
    }),
    body: createAsyncIterable([body]),
  };
}

function unsupportedContentTypeError(contentType: string | undefined): ConnectError {
  return pnmError(
    FailureReason.BODY_MALFORMED,
    `unsupported content type ${JSON.stringify((contentType ?? "").slice(0, 100))}: Connect takes application/json or application/proto, gRPC-web application/grpc-web(+proto|+json), gRPC application/grpc(+proto|+json)`,
  );
}

/** `body`, noting the guard's refusal (which Connect answers without reaching the interceptors) in the request's record. */
async function* notingRefusals(req: NodeRequest, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    if (!clientGone(req)) noteFailure(req, err);
    throw err;
  }
}

/** gRPC and gRPC-web bodies are message envelopes, whose payload alone is signed; a Connect unary body is the message. */
export function signedFraming(contentType: string | undefined): SignedFraming {
  return /^application\/grpc(-web)?([+;]|$)/i.test((contentType ?? "").trim()) ? "envelope" : "body";
}

/** A request header's value, the first if it was sent more than once; `name` must be lower-case. */
export function headerValue(req: NodeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
