import { type DescMessage, fromBinary, fromJson, type MessageShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { framingOf, signatureHex, signedBytes } from "../../src/signature.js";
import type { ProxiedRequest } from "./faulty-proxy.js";

/** How a message travels: JSON (REST, Connect JSON), a bare binary message (Connect), or framed (gRPC, gRPC-web). */
export type BodyFormat = "json" | "binary" | "framed";

export function bodyFormat(headers: Record<string, string>): BodyFormat | undefined {
  const type = headers["content-type"] ?? "";
  if (type.startsWith("application/json")) return "json";
  if (type.startsWith("application/grpc")) return "framed";
  if (type === "application/proto" || type === "application/protobuf") return "binary";
  return undefined;
}

/** Applies `change` to the message in `body`, keeping its format; JSON comes back with proto names. */
export function rewriteMessage<Desc extends DescMessage>(
  schema: Desc,
  format: BodyFormat,
  body: Buffer,
  change: (message: MessageShape<Desc>) => void,
): Buffer {
  if (format === "json") {
    const message = fromJson(schema, JSON.parse(body.toString("utf8")), { ignoreUnknownFields: true });
    change(message);
    return Buffer.from(toJsonString(schema, message, { useProtoFieldName: true }));
  }
  if (format === "binary") {
    const message = fromBinary(schema, body);
    change(message);
    return Buffer.from(toBinary(schema, message));
  }
  // A frame is a flags byte and a 4-byte length; the first carries the message, any others (gRPC-web trailers) follow unchanged.
  const length = body.readUInt32BE(1);
  const message = fromBinary(schema, body.subarray(5, 5 + length));
  change(message);
  const payload = Buffer.from(toBinary(schema, message));
  const header = Buffer.alloc(5);
  header[0] = body[0]!;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload, body.subarray(5 + length)]);
}

/**
 * The request with a new body. A request that was correctly signed is signed
 * again for the new bytes; a badly signed one keeps its bad signature, so the
 * fault under test is the only thing that changes.
 */
export function withBody(req: ProxiedRequest, body: Buffer, apiSecret: string): ProxiedRequest {
  const headers = { ...req.headers };
  const framing = framingOf(headers["content-type"]);
  const sign = (bytes: Buffer) => {
    try {
      return signatureHex(apiSecret, signedBytes(bytes, framing));
    } catch {
      return undefined; // not a signable body: nothing to re-sign
    }
  };
  const before = sign(req.body);
  if (before !== undefined && headers["hash-signature"] === before) headers["hash-signature"] = sign(body)!;
  return { ...req, headers, body };
}
