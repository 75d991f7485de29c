import { type DescMessage, fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { BodySignatureCheck } from "../auth/api-signature.js";
import { pnmError } from "../errors.js";

export interface BodyGuardOptions {
  limit: number;
  /** The request's content-length, when it announced one. */
  announcedLength: number | undefined;
  /** Set for signed routes: the check begun on the headers, or the refusal they earned. */
  signature?: BodySignatureCheck | Error;
  /** Throws a pnm error when the body is not a message of the method's input type. */
  decodeCheck?: (body: Uint8Array) => void;
}

/**
 * Stands between the request and Connect for unary RPCs: refuses a body over
 * the limit before it is read whole, checks the API signature as the bytes
 * stream in (over the message they carry, see SignedFraming), and checks that
 * the body decodes, so every refusal is a pnm error
 * with its ErrorDetail (Connect's own refusals carry none, and it reports an
 * undecodable binary message as `internal`).
 */
export async function* guardBody(body: AsyncIterable<Uint8Array>, options: BodyGuardOptions): AsyncIterable<Uint8Array> {
  if (options.signature instanceof Error) throw options.signature;
  const tooLarge = () => pnmError(FailureReason.BODY_TOO_LARGE, `request body exceeds ${options.limit} bytes`);
  if ((options.announcedLength ?? 0) > options.limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > options.limit) throw tooLarge();
    options.signature?.update(chunk);
    chunks.push(chunk);
  }
  options.signature?.finish();
  const whole = Buffer.concat(chunks, size);
  options.decodeCheck?.(whole);
  yield whole;
}

const jsonReadOptions = { ignoreUnknownFields: true };

/**
 * How a unary request body of `input` is framed for the protocol its
 * content type names. Unknown types get no check: Connect refuses them.
 */
export function requestDecodeCheck(input: DescMessage, header: (name: string) => string | undefined, limit: number): ((body: Uint8Array) => void) | undefined {
  const contentType = (header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const malformed = (err: unknown) => pnmError(FailureReason.BODY_MALFORMED, `request body could not be decoded: ${(err as Error).message}`);
  const decodeMessage = (json: boolean) => (bytes: Uint8Array) => {
    try {
      if (json) fromJsonString(input, new TextDecoder("utf-8", { fatal: true }).decode(bytes), jsonReadOptions);
      else fromBinary(input, bytes);
    } catch (err) {
      throw malformed(err);
    }
  };
  const decompress = (encoding: string | undefined, bytes: Uint8Array): Uint8Array | undefined => {
    try {
      if (!encoding || encoding === "identity") return bytes;
      if (encoding === "gzip") return gunzipSync(bytes, { maxOutputLength: limit });
      if (encoding === "br") return brotliDecompressSync(bytes, { maxOutputLength: limit });
    } catch (err) {
      throw malformed(err);
    }
    return undefined; // an encoding Connect will refuse itself
  };

  const connectCodec = { "application/json": true, "application/proto": false } as Record<string, boolean>;
  if (contentType in connectCodec) {
    const decode = decodeMessage(connectCodec[contentType]!);
    return (body) => {
      const plain = decompress(header("content-encoding"), body);
      if (plain) decode(plain);
    };
  }
  const envelope = /^application\/grpc(-web)?(\+(proto|json))?$/.exec(contentType);
  if (!envelope) return undefined;
  const decode = decodeMessage(envelope[3] === "json");
  return (body) => {
    for (let offset = 0; offset < body.length; ) {
      if (body.length - offset < 5) throw malformed(new Error("truncated message envelope"));
      const flags = body[offset]!;
      const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
      const data = body.subarray(offset + 5, offset + 5 + length);
      if (data.length !== length) throw malformed(new Error("truncated message envelope"));
      if (flags & 0x80) throw malformed(new Error("a request cannot carry trailers"));
      const plain = flags & 0x01 ? decompress(header("grpc-encoding"), data) : data;
      if (plain) decode(plain);
      offset += 5 + length;
    }
  };
}
