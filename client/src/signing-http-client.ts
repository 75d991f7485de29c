import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { signBody } from "./api-signature.js";

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
    const body = await collect(request.body);
    const header = new Headers(request.header);
    header.set("API-KEY", options.apiKey);
    header.set("HASH-SIGNATURE", await signBody(options.apiSecret, body));
    return inner({ ...request, header, body: once(body) });
  };
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
