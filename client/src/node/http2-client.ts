import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";

export interface NodeHttp2Client {
  httpClient: UniversalClientFn;
  close(): void;
}

/** An HTTP/2 client (cleartext with prior knowledge for http:// URLs) for gRPC from Node. */
export function createNodeHttp2Client(baseUrl: string): NodeHttp2Client {
  const sessions = new Http2SessionManager(baseUrl);
  return {
    httpClient: createNodeHttpClient({ httpVersion: "2", sessionProvider: () => sessions }),
    close: () => sessions.abort(),
  };
}
