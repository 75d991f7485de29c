import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { signBody } from "./api-signature.js";
import { collectBytes, singleChunk } from "./bytes.js";

export interface SigningOptions {
  apiKey: string;
  apiSecret: string;
}

/**
 * Signs requests at the HTTP layer, after Connect has serialised, enveloped
 * and compressed the message: the signature covers exactly the bytes sent,
 * whatever the protocol or codec.
 */
export function createSigningHttpClient(inner: UniversalClientFn, options: SigningOptions): UniversalClientFn {
  return async (request) => {
    const body = await collectBytes(request.body);
    const header = new Headers(request.header);
    header.set("API-KEY", options.apiKey);
    header.set("HASH-SIGNATURE", await signBody(options.apiSecret, body));
    return inner({ ...request, header, body: singleChunk(body) });
  };
}
