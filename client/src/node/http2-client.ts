import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createNodeHttpClient, Http2SessionManager } from "@connectrpc/connect-node";

/** An HTTP/2 client for the transport, and how to close its session. */
export interface NodeHttp2Client {
  /** Pass as the `httpClient` transport option (with `protocol: "grpc"`, or any other). */
  httpClient: UniversalClientFn;
  /**
   * Aborts the current HTTP/2 session, failing any call still in flight, and releases its socket so the process can
   * exit; a call made afterwards opens a new session, which needs its own `close()`.
   */
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
