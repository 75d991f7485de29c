import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { type DescMessage, fromBinary, fromJsonString, type Message } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { BodySignatureCheck } from "../auth/api-signature.js";
import { pnmError } from "../errors.js";

/** The limit and checks a request body must pass. */
export interface BodyGuardOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** The request's content-length, when it announced one. */
  announcedLength: number | undefined;
  /** Set for signed routes: the check begun on the headers, or the refusal they earned. */
  signature?: BodySignatureCheck | Error;
  /** Throws a pnm error when the body is not a message of the method's input type. */
  decodeCheck?: (body: Uint8Array) => void;
  /** A refusal the headers earned (see `encodingRefusal`), thrown before any byte is read, after the signature's own. */
  refusal?: Error;
}

/**
 * Stands between the request and Connect for unary RPCs: refuses a body over
 * the limit before it is read whole, checks the API signature as the bytes
 * stream in (over the message they carry, see SignedFraming), and checks that
 * the body decodes, so every refusal is a pnm error
 * with its ErrorDetail (Connect's own refusals carry none, and it reports an
 * undecodable binary message as `internal`).
 */
export async function* guardBody(
  body: AsyncIterable<Uint8Array>,
  options: BodyGuardOptions,
): AsyncIterable<Uint8Array> {
  const checks = bodyChecks(options);
  for await (const chunk of body) checks.take(chunk);
  yield await checks.end();
}

/** The body stopped arriving before its end: the client went away or ran out of time. */
export class BodyAborted extends Error {
  override name = "BodyAborted";
}

/**
 * The whole body of `req` through the same checks as guardBody, read from
 * the stream's events rather than its async iterator, which costs a promise
 * and an object per chunk. Rejects with the guard's pnm error, or with
 * BodyAborted when the body stops before its end; a refused body is left
 * unread (paused), for the answer to drain or drop.
 */
export function readGuardedBody(req: IncomingMessage | Http2ServerRequest, options: BodyGuardOptions): Promise<Buffer> {
  let checks: ReturnType<typeof bodyChecks>;
  try {
    checks = bodyChecks(options);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const fail = (err: unknown) => {
      stop();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      try {
        checks.take(chunk);
      } catch (err) {
        fail(err);
      }
    };
    const onEnd = () => {
      stop();
      checks.end().then(resolve, reject);
    };
    const onError = (err: Error) => fail(new BodyAborted("the request body was cut off", { cause: err }));
    const onClose = () => fail(new BodyAborted("the request ended before its body"));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}

/** The guard's checks, chunk by chunk; throws at once the refusals the headers earned. */
function bodyChecks(options: BodyGuardOptions): { take(chunk: Uint8Array): void; end(): Promise<Buffer> } {
  if (options.signature instanceof Error) throw options.signature;
  if (options.refusal) throw options.refusal;
  const signature = options.signature;
  const tooLarge = () => pnmError(FailureReason.BODY_TOO_LARGE, `request body exceeds ${options.limit} bytes`);
  if ((options.announcedLength ?? 0) > options.limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    take(chunk) {
      size += chunk.length;
      if (size > options.limit) throw tooLarge();
      signature?.update(chunk);
      chunks.push(chunk);
    },
    async end() {
      await signature?.finish();
      const whole = chunks.length === 1 ? Buffer.from(chunks[0]!) : Buffer.concat(chunks, size);
      options.decodeCheck?.(whole);
      return whole;
    },
  };
}

/**
 * Whether the client went away before pnm answered: an HTTP/1.1 connection
 * closed, an HTTP/2 stream reset (by the client, or by the listener's request
 * timeout) or its session closed.
 */
export function clientGone(req: IncomingMessage | Http2ServerRequest): boolean {
  if ("stream" in req) return req.aborted || req.stream.destroyed;
  return req.aborted || req.socket?.destroyed === true;
}

/** How a request's body is framed, by content type. */
export interface RpcBodyKind {
  /** `body`: the body is the message (Connect unary); `envelope`: one gRPC / gRPC-web message envelope. */
  framing: "body" | "envelope";
  /** The message is protobuf JSON rather than binary. */
  json: boolean;
}

// What Connect's handlers accept for a unary method, less gRPC-web's base64
// text variant (application/grpc-web-text), which no pnm client sends and
// whose body neither the guard nor the signature check reads.
const rpcContentTypes: [RegExp, RpcBodyKind][] = [
  [/^application\/json(?:; ?charset=utf-?8)?$/i, { framing: "body", json: true }],
  [/^application\/proto$/i, { framing: "body", json: false }],
  [/^application\/grpc(?:-web)?(?:\+proto)?$/i, { framing: "envelope", json: false }],
  [/^application\/grpc(?:-web)?\+json(?:; ?charset=utf-?8)?$/i, { framing: "envelope", json: true }],
];

/** The body kind a Connect, gRPC-web or gRPC content type names; undefined for any other, which pnm refuses. */
export function rpcBodyKind(contentType: string | undefined): RpcBodyKind | undefined {
  const value = contentType ?? "";
  return rpcContentTypes.find(([pattern]) => pattern.test(value))?.[1];
}

/**
 * pnm reads no compressed request, on any route: request messages are small,
 * signed ones are signed uncompressed, and a decoder would only give a client
 * a way to make the server inflate more than the body limit lets it send.
 * A body under a content coding (`Content-Encoding` other than identity) is
 * refused before it is read; over gRPC and gRPC-web each envelope's flag says
 * whether its message is compressed (`grpc-encoding` only names the codec),
 * so a compressed envelope is refused by the decode check (or the signature
 * check) instead.
 */
export function encodingRefusal(header: (name: string) => string | undefined): ConnectError | undefined {
  const coding = contentCoding(header);
  if (coding === undefined) return undefined;
  return pnmError(
    FailureReason.BODY_MALFORMED,
    `request bodies must not be compressed (Content-Encoding: ${coding.slice(0, 40)}); send the body uncompressed`,
  );
}

/** The request's content coding, undefined when there is none (absent, empty or `identity`). */
export function contentCoding(header: (name: string) => string | undefined): string | undefined {
  const coding = (header("content-encoding") ?? "").trim().toLowerCase();
  return coding === "" || coding === "identity" ? undefined : coding;
}

const jsonReadOptions = { ignoreUnknownFields: true };
// Stateless between calls (no `stream` option), so one serves every request.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks that a unary request body of `kind` carries exactly one message of
 * type `input`, uncompressed, so that every way it can fail is a pnm error
 * (Connect reports an undecodable binary message as `internal`, and a missing
 * or second envelope as `unimplemented`, both without an ErrorDetail), and
 * returns that message.
 */
export function requestDecodeCheck(input: DescMessage, kind: RpcBodyKind): (body: Uint8Array) => Message {
  const malformed = (text: string) =>
    pnmError(FailureReason.BODY_MALFORMED, `request body could not be decoded: ${text}`);
  const decode = (bytes: Uint8Array): Message => {
    try {
      return kind.json ? fromJsonString(input, strictUtf8.decode(bytes), jsonReadOptions) : fromBinary(input, bytes);
    } catch (err) {
      throw malformed((err as Error).message);
    }
  };
  if (kind.framing === "body") return decode;
  return (body) => {
    if (body.length < 5) throw malformed("truncated message envelope");
    const flags = body[0]!;
    const length = new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0);
    if (body.length - 5 < length) throw malformed("truncated message envelope");
    if (body.length - 5 > length) throw malformed("a unary request carries exactly one message envelope");
    if (flags & 0x80) throw malformed("a request cannot carry trailers");
    if (flags & 0x01) throw malformed("the message is compressed (envelope flag 1); send it uncompressed");
    return decode(body.subarray(5));
  };
}
