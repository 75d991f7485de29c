import { createNodeHttp2Client, type NodeHttp2Client } from "@pnm/client/node";
import type { Operation } from "../operations.js";
import type { Transport } from "../profiles.js";
import type { Credentials } from "./auth-headers.js";
import type { CallOutcome, WireRequest } from "./call-types.js";
import { callRest } from "./rest.js";
import { callRpc } from "./rpc.js";

/** The server under test and its API credentials. */
export interface WireOptions extends Credentials {
  /** The server's URL. */
  baseUrl: string;
  /** Per call; default 15 s. */
  timeoutMs?: number;
}

/** Calls one operation over one transport against the server under test. */
export interface Wire {
  /**
   * Makes the call and reads the answer; refusals and network failures
   * resolve too, as outcomes. Throws StepError when the step's request cannot
   * be sent as written.
   */
  call(transport: Transport, op: Operation, request: WireRequest): Promise<CallOutcome>;
  /** Closes the HTTP/2 session gRPC calls share. */
  close(): void;
}

/** The wire to one server; close it to end the HTTP/2 session. */
export function createWire(options: WireOptions): Wire {
  const timeoutMs = options.timeoutMs ?? 15_000;
  // One HTTP/2 session for the whole run, opened on the first gRPC call.
  let http2: NodeHttp2Client | undefined;
  const http2Client = () => {
    http2 ??= createNodeHttp2Client(options.baseUrl);
    return http2.httpClient;
  };
  const target = {
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    timeoutMs,
    http2Client,
  };
  return {
    call: (transport, op, request) =>
      transport === "rest" ? callRest(target, op, request) : callRpc(target, transport, op, request),
    close: () => http2?.close(),
  };
}
