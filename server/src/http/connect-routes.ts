import { Code, ConnectError, createConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { ParticipantService as ParticipantServiceDesc } from "@pnm/protocol/pnm/v1/participant_service_pb";
import { RoomService as RoomServiceDesc } from "@pnm/protocol/pnm/v1/room_service_pb";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { ApiSignatureVerifier, BodySignatureCheck, SignedFraming } from "../auth/api-signature.js";
import { guardBody, requestDecodeCheck } from "./request-body-guard.js";
import { pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import { type ParticipantService, tokenFromAuthorization } from "../services/participant-service.js";
import type { RoomService } from "../services/room-service.js";

const opaqueCodes = new Set([Code.Internal, Code.Unknown]);

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface ConnectRoutesOptions {
  rooms: RoomService;
  participants: ParticipantService;
  signature: ApiSignatureVerifier;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * Connect, gRPC-web and gRPC for both services. Every body passes the body
 * guard on its way into Connect; RoomService bodies are also signed (over the
 * message: a Connect unary body, the payload of a gRPC / gRPC-web envelope). A
 * refusal fails the body stream, so Connect answers with the pnm error in the
 * caller's protocol and the handler never runs (Connect reads a unary body
 * whole before it decodes it).
 */
export function createConnectRoutes(options: ConnectRoutesOptions): Map<string, NodeHandler> {
  const { rooms, participants } = options;
  // Errors that are not pnm's own (a NATS outage, a bug) reach the caller as
  // a bare `internal`, so no library text or stack leaks out.
  const hideInternalErrors: Interceptor = (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && (err.findDetails(ErrorDetailSchema).length > 0 || !opaqueCodes.has(err.code))) throw err;
      options.logger.error(`${req.method.name} failed`, err);
      throw pnmError(FailureReason.INTERNAL, "internal error");
    }
  };
  const router = createConnectRouter({
    // The body guard enforces maxBodyBytes with a pnm error; Connect's own limit only backs it up.
    readMaxBytes: options.maxBodyBytes * 2,
    interceptors: [hideInternalErrors],
    jsonOptions: { ignoreUnknownFields: true },
  });
  router.service(RoomServiceDesc, {
    createRoom: (req) => rooms.createRoom(req),
    getJoinToken: (req) => rooms.getJoinToken(req),
    isRoomActive: (req) => rooms.isRoomActive(req),
    endRoom: (req) => rooms.endRoom(req),
    removeParticipant: (req) => rooms.removeParticipant(req),
  });
  router.service(ParticipantServiceDesc, {
    verifyToken: (req, ctx) => participants.verifyToken(req, tokenFromAuthorization(ctx.requestHeader.get("authorization"))),
  });

  const routes = new Map<string, NodeHandler>();
  for (const handler of router.handlers) {
    const signed = handler.service.typeName === RoomServiceDesc.typeName;
    routes.set(handler.requestPath, (req, res) => serve(handler, signed, req, res));
  }
  return routes;

  function serve(handler: UniversalHandler, signed: boolean, req: NodeRequest, res: NodeResponse): void {
    const uReq = universalRequestFromNodeRequest(req as IncomingMessage, res as ServerResponse, undefined, undefined);
    const header = (name: string) => headerValue(req, name);
    let signature: BodySignatureCheck | Error | undefined;
    if (signed) {
      try {
        signature = options.signature.begin(header, signedFraming(header("content-type")));
      } catch (err) {
        signature = err as Error;
      }
      // Signed messages are never compressed: the signature check refuses a
      // compressed one with a pnm error. Connect would refuse an encoding it
      // does not accept before reading the body, with no ErrorDetail, so it
      // does not get to see the encoding headers.
      uReq.header.delete("content-encoding");
      uReq.header.delete("grpc-encoding");
    }
    const announced = header("content-length");
    uReq.body = guardBody(uReq.body as AsyncIterable<Uint8Array>, {
      limit: options.maxBodyBytes,
      announcedLength: announced === undefined ? undefined : Number(announced),
      signature,
      decodeCheck: requestDecodeCheck(handler.method.input, header, options.maxBodyBytes),
    });
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as ServerResponse))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) options.logger.error("response could not be written", err);
      });
  }
}

/** gRPC and gRPC-web bodies are message envelopes, whose payload alone is signed; a Connect unary body is the message. */
export function signedFraming(contentType: string | undefined): SignedFraming {
  return /^application\/grpc(-web)?([+;]|$)/i.test((contentType ?? "").trim()) ? "envelope" : "body";
}

export function headerValue(req: NodeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
