import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { signBody } from "./api-signature.js";
import { collectBytes, singleChunk } from "./bytes.js";

export interface SigningOptions {
  apiKey: string;
  apiSecret: string;
}

/**
 * Signs requests at the HTTP layer, after Connect has serialised and
 * enveloped the message. HASH-SIGNATURE covers the serialized request message
 * exactly as it is sent, uncompressed, on every protocol: the body for
 * Connect, the envelope's payload (without its 5-byte prefix) for gRPC and
 * gRPC-web.
 */
export function createSigningHttpClient(inner: UniversalClientFn, options: SigningOptions): UniversalClientFn {
  return async (request) => {
    const body = await collectBytes(request.body);
    const header = new Headers(request.header);
    header.set("API-KEY", options.apiKey);
    header.set("HASH-SIGNATURE", await signBody(options.apiSecret, signedMessage(body, header)));
    return inner({ ...request, header, body: singleChunk(body) });
  };
}

/** The part of a request body that HASH-SIGNATURE covers; a body that cannot be signed under the rule throws. */
function signedMessage(body: Uint8Array<ArrayBuffer>, header: Headers): Uint8Array<ArrayBuffer> {
  const contentType = (header.get("content-type") ?? "").trim().toLowerCase();
  if (!/^application\/grpc(-web)?([+;]|$)/.test(contentType)) {
    const encoding = header.get("content-encoding");
    if (encoding && encoding !== "identity") throw new Error("a signed request must not be compressed");
    return body;
  }
  if (body.length < 5) throw new Error("a gRPC request body is one message envelope");
  const length = new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0);
  if (body.length !== 5 + length) throw new Error("a unary gRPC request body is exactly one message envelope");
  if (body[0]! & 0x01) throw new Error("a signed request must not be compressed");
  return body.subarray(5);
}
