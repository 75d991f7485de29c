import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { collectBytes } from "./bytes.js";

/**
 * Unary calls over the runtime's fetch. The request body is sent as one
 * buffer: fetch refuses streamed bodies without `duplex: "half"`, which
 * browsers support only over HTTP/2, and unary bodies are small anyway.
 */
export function createFetchHttpClient(fetchFn: typeof fetch = globalThis.fetch.bind(globalThis)): UniversalClientFn {
  return async (request) => {
    const response = await fetchFn(request.url, {
      method: request.method,
      headers: request.header,
      body: request.body ? await collectBytes(request.body) : undefined,
      signal: request.signal,
      redirect: "error",
    });
    return { status: response.status, header: response.headers, body: readAll(response.body), trailer: new Headers() };
  };
}

async function* readAll(stream: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}
