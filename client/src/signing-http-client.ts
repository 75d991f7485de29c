import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { randomNonce, signBody, signV2 } from "./api-signature.js";
import { collectBytes, singleChunk } from "./bytes.js";

/** The API key and secret that server-to-server calls are signed with. */
export interface SigningOptions {
  /** Sent in the API-KEY header. */
  apiKey: string;
  /** Keys the HMAC-SHA256 of the signature; never sent. */
  apiSecret: string;
  /**
   * 2 (the default): PNM-SIGNATURE, bound to the method, path, time and a
   * fresh nonce, so a captured request cannot be replayed or sent to another
   * route. 1: upstream's HASH-SIGNATURE over the message alone, for servers
   * that do not know v2 (pnm accepts it unless it runs with
   * `PNM_API_SIGNATURE=v2-only`).
   */
  signatureVersion?: 1 | 2;
  /** The clock v2 timestamps are read from, in ms since the epoch; default `Date.now`. Correct a skewed clock here. */
  now?: () => number;
  /** Where v2 nonces come from; default `randomNonce` (128 random bits). Replace only in tests: a nonce used twice is refused as a replay. */
  nonce?: () => string;
}

/**
 * Signs requests at the HTTP layer, after Connect has serialised and
 * enveloped the message. The signature covers the serialized request message
 * exactly as it is sent, uncompressed, on every protocol: the body for
 * Connect, the envelope's payload (without its 5-byte prefix) for gRPC and
 * gRPC-web; PNM-SIGNATURE (v2, the default) covers its SHA-256 together with
 * the request's method, path, timestamp and nonce.
 */
export function createSigningHttpClient(inner: UniversalClientFn, options: SigningOptions): UniversalClientFn {
  return async (request) => {
    const body = await collectBytes(request.body);
    const header = new Headers(request.header);
    header.set("API-KEY", options.apiKey);
    const message = signedMessage(body, header);
    if (options.signatureVersion === 1) {
      header.set("HASH-SIGNATURE", await signBody(options.apiSecret, message));
    } else {
      const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
      const path = new URL(request.url).pathname;
      header.set(
        "PNM-SIGNATURE",
        await signV2(options.apiSecret, {
          method: request.method,
          path,
          timestamp,
          nonce: (options.nonce ?? randomNonce)(),
          message,
        }),
      );
    }
    return inner({ ...request, header, body: singleChunk(body) });
  };
}

/** The part of a request body the signature covers; a body that cannot be signed under the rule throws. */
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
