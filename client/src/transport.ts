import type { Interceptor, Transport } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport as createConnectTransport } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import { createFetchHttpClient } from "./fetch-http-client.js";

/** The RPC protocol on the wire; pnm's server speaks all three on one port. */
export type Protocol = "connect" | "grpc-web" | "grpc";

/** Where and how to reach a pnm server. */
export interface TransportOptions {
  /** The pnm server's URL; RPC paths (`/pnm.v1.RoomService/CreateRoom`, …) are appended to it. */
  baseUrl: string;
  /** Default "connect". gRPC needs HTTP/2: pass an HTTP/2 httpClient (see `@pnm/client/node`). */
  protocol?: Protocol;
  /** Default true for gRPC and gRPC-web, false (JSON) for Connect. */
  useBinaryFormat?: boolean;
  /** Default: the runtime's fetch. */
  httpClient?: UniversalClientFn;
  /** Connect interceptors, run in order on every call, before the request is serialised (and signed). */
  interceptors?: Interceptor[];
  /** Largest response message accepted, in bytes; default 4 MiB. */
  readMaxBytes?: number;
}

const transports = { connect: createConnectTransport, "grpc-web": createGrpcWebTransport, grpc: createGrpcTransport };

/**
 * A Connect transport for `options.protocol`, without compression (pnm signs
 * uncompressed messages); `wrap` decorates the HTTP client, as signing does.
 */
export function createPnmTransport(
  options: TransportOptions,
  wrap: (client: UniversalClientFn) => UniversalClientFn = (c) => c,
): Transport {
  const protocol = options.protocol ?? "connect";
  return transports[protocol]({
    baseUrl: options.baseUrl,
    httpClient: wrap(options.httpClient ?? createFetchHttpClient()),
    useBinaryFormat: options.useBinaryFormat ?? protocol !== "connect",
    interceptors: options.interceptors ?? [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
    writeMaxBytes: 4 * 1024 * 1024,
  });
}
