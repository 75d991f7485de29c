import { create, type DescMethodUnary, fromJson, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createPnmTransport, type Protocol } from "@pnm/client/protocol";
import { ErrorDetailSchema, FailureReason, StatusCodeSchema } from "@pnm/protocol/pnm/v1/common_pb";
import { describeError, StepError } from "../errors.js";
import type { Operation } from "../operations.js";
import type { Transport } from "../profiles.js";
import type { SignedFraming } from "../signature.js";
import { authHeaders, type Credentials } from "./auth-headers.js";
import type { CallOutcome, RpcFailure, WireRequest } from "./call-types.js";
import { toResponseShape, upstreamEnumName } from "./response-shape.js";
import { violationPaths, violationsTypeName } from "./violations.js";

/** The Connect protocols: every transport but `rest`. */
export type RpcTransport = Exclude<Transport, "rest">;

/** The server the RPCs go to, and the credentials they are signed with. */
export interface RpcTarget extends Credentials {
  /** The server's URL; RPC paths are appended to it. */
  baseUrl: string;
  /** Per call. */
  timeoutMs: number;
  /** HTTP/2 client for gRPC. */
  http2Client: () => UniversalClientFn;
}

/** Where the signed message sits in the body: gRPC and gRPC-web sign the envelope's payload, not its prefix. */
const framings: Record<RpcTransport, SignedFraming> = {
  "connect-json": "body",
  "connect-proto": "body",
  "grpc-web": "envelope",
  grpc: "envelope",
};

const protocols: Record<RpcTransport, { protocol: Protocol; binary: boolean }> = {
  "connect-json": { protocol: "connect", binary: false },
  "connect-proto": { protocol: "connect", binary: true },
  "grpc-web": { protocol: "grpc-web", binary: true },
  grpc: { protocol: "grpc", binary: true },
};

/**
 * One call over a Connect protocol. The request goes through Connect's own
 * transport, and the bytes it puts on the wire are then replaced where the step
 * asks (verbatim JSON, malformed bodies) and signed or spoiled, so headers and
 * signature always describe exactly what is sent (the signature covers the
 * message: the body, or a gRPC / gRPC-web envelope's payload).
 */
export async function callRpc(
  target: RpcTarget,
  transport: RpcTransport,
  op: Operation,
  request: WireRequest,
): Promise<CallOutcome> {
  const { protocol, binary } = protocols[transport];
  const replacement = replacementBody(transport, binary, request);
  let message: MessageShape<Operation["input"]>;
  try {
    message = replacement ? create(op.input) : fromJson(op.input, request.json, { ignoreUnknownFields: true });
  } catch (err) {
    throw new StepError(`request does not fit ${op.input.typeName}: ${describeError(err)}`, { cause: err });
  }

  let sentSignature: string | undefined;
  const wrap =
    (inner: UniversalClientFn): UniversalClientFn =>
    async (req) => {
      const body = replacement ?? (await collect(req.body));
      const header = new Headers(req.header);
      if (op.auth === "signature") {
        const route = { method: req.method, path: new URL(req.url).pathname };
        for (const [name, value] of Object.entries(
          authHeaders(target, body, framings[transport], request.auth, route),
        )) {
          if (value === undefined) header.delete(name);
          else header.set(name, value);
        }
        sentSignature = header.get("pnm-signature") ?? undefined;
      } else if (request.token !== undefined && !request.tokenInQuery) {
        header.set("authorization", request.token);
      }
      const url =
        request.tokenInQuery && request.token !== undefined
          ? `${req.url}?Authorization=${encodeURIComponent(request.token)}`
          : req.url;
      return inner({ ...req, url, header, body: once(body) });
    };
  if (op.method.methodKind !== "unary") throw new StepError(`${op.name} is not a unary method`);
  const method = op.method as DescMethodUnary;
  const rpc = createPnmTransport(
    {
      baseUrl: target.baseUrl,
      protocol,
      useBinaryFormat: binary,
      httpClient: transport === "grpc" ? target.http2Client() : undefined,
    },
    wrap,
  );
  try {
    const answer = await rpc.unary(method, undefined, target.timeoutMs, undefined, message);
    return { transport, body: toResponseShape(op.output, answer.message), text: "", sentSignature };
  } catch (err) {
    const error = rpcFailure(ConnectError.from(err));
    return { transport, error, text: error.message, sentSignature };
  }
}

function replacementBody(transport: RpcTransport, binary: boolean, request: WireRequest): Uint8Array | undefined {
  if (!binary) {
    if (request.rawJson === undefined && request.rawProto !== undefined)
      throw new StepError(`the step gives only a binary body; ${transport} needs \`raw.json\``);
    return Buffer.from(request.rawJson ?? JSON.stringify(request.json), "utf8");
  }
  if (request.rawProto === undefined) {
    if (request.rawJson !== undefined)
      throw new StepError(`the step gives only a JSON body; ${transport} needs \`raw.proto_hex\``);
    return undefined;
  }
  return transport === "connect-proto" ? request.rawProto : envelope(request.rawProto);
}

function rpcFailure(error: ConnectError): RpcFailure {
  const detail = error.findDetails(ErrorDetailSchema)[0];
  const statusName = detail ? StatusCodeSchema.values.find((v) => v.number === detail.statusCode)?.name : undefined;
  const violations = error.details.flatMap((d) =>
    "type" in d && d.type === violationsTypeName ? violationPaths(d.value) : [],
  );
  return {
    code: error.code,
    message: error.rawMessage,
    reason: detail ? FailureReason[detail.reason] : undefined,
    statusCode: statusName ? upstreamEnumName(StatusCodeSchema, statusName) : undefined,
    violations,
  };
}

/** A gRPC / gRPC-web message frame: flags byte 0 (uncompressed), 4-byte big-endian length, message. */
function envelope(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
