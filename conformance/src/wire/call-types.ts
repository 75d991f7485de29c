import type { Code } from "@connectrpc/connect";
import type { Transport } from "../profiles.js";
import type { JsonObject } from "../tokens/jwt.js";

/** How a signed request's API-KEY and HASH-SIGNATURE headers are spoiled; unset fields are sent correctly. */
export interface AuthFault {
  apiKey?: "missing" | "empty" | "wrong" | "case-changed";
  signature?: "missing" | "empty" | "upper-case" | "other-secret" | "truncated" | "extra-digit" | "not-hex" | "other-body" | "whole-frame";
}

export interface WireRequest {
  /** The request message as protojson, sent verbatim on the JSON transports. */
  json: JsonObject;
  /** Replaces the JSON body (REST's signed routes, connect-json). */
  rawJson?: string;
  /** Replaces the binary message (connect-proto, grpc-web, grpc, REST VerifyToken); enveloped where the protocol needs it. */
  rawProto?: Uint8Array;
  auth: AuthFault;
  /** The Authorization value for token-authenticated calls; undefined sends none. */
  token?: string;
  /** Sends the token as the `Authorization` query parameter instead of the header. */
  tokenInQuery?: boolean;
}

export interface RpcFailure {
  code: Code;
  message: string;
  /** ErrorDetail.reason as a FailureReason name without prefix. */
  reason?: string;
  /** ErrorDetail.status_code as an upstream StatusCode name. */
  statusCode?: string;
  violations: string[];
}

export interface CallOutcome {
  transport: Transport;
  /** REST only. */
  httpStatus?: number;
  /** REST only: the `pnm-failure-reason` response header. */
  reasonHeader?: string;
  /** The answer in upstream JSON shape; on REST failures too, as upstream answers them with a body. */
  body?: JsonObject;
  /** Everything a caller could read as text: checked for leaked internals. */
  text: string;
  /** Why the answer could not be read as the contract says it is written. */
  unreadable?: string;
  /** RPC transports: the Connect error. */
  error?: RpcFailure;
}
