import type { Code } from "@connectrpc/connect";
import type { Transport } from "../profiles.js";
import type { JsonObject } from "../tokens/jwt.js";

/**
 * How a signed request is signed (HASH-SIGNATURE, or PNM-SIGNATURE with
 * `version: 2`) and how its API-KEY and signature are spoiled; unset fields
 * are sent correctly.
 */
export interface AuthFault {
  /** How API-KEY is spoiled: left out, empty, another key, or one letter's case flipped. */
  apiKey?: "missing" | "empty" | "wrong" | "case-changed";
  /** How the signature is spoiled: left out, empty, wrongly encoded or cut, over other bytes or with another secret. */
  signature?:
    | "missing"
    | "empty"
    | "upper-case"
    | "other-secret"
    | "truncated"
    | "extra-digit"
    | "not-hex"
    | "other-body"
    | "whole-frame";
  /** 2: PNM-SIGNATURE instead of HASH-SIGNATURE, with the harness's clock and a fresh random nonce. */
  version?: 2;
  /** Version 2: seconds added to the harness's clock for the timestamp. */
  skewSeconds?: number;
  /** Version 2: the PNM-SIGNATURE value to send as it is (variables already substituted), instead of signing. */
  header?: string;
}

/** One request of a case, as it goes on the wire, on any transport. */
export interface WireRequest {
  /** The request message as protojson, sent verbatim on the JSON transports. */
  json: JsonObject;
  /** Replaces the JSON body (REST's signed routes, connect-json). */
  rawJson?: string;
  /** Replaces the binary message (connect-proto, grpc-web, grpc, REST VerifyToken); enveloped where the protocol needs it. */
  rawProto?: Uint8Array;
  /** How the signature headers of a signed call are spoiled. */
  auth: AuthFault;
  /** The Authorization value for token-authenticated calls; undefined sends none. */
  token?: string;
  /** Sends the token as the `Authorization` query parameter instead of the header. */
  tokenInQuery?: boolean;
}

/** An RPC transport's error answer, read as a client would. */
export interface RpcFailure {
  /** The Connect / gRPC code. */
  code: Code;
  /** The error message, without the code prefix. */
  message: string;
  /** ErrorDetail.reason as a FailureReason name without prefix. */
  reason?: string;
  /** ErrorDetail.status_code as an upstream StatusCode name. */
  statusCode?: string;
  /** Field paths of the buf.validate.Violations detail, if there is one. */
  violations: string[];
}

/** What the server answered a call, in one shape for every transport. */
export interface CallOutcome {
  /** The transport the call went over. */
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
  /** The PNM-SIGNATURE value the request carried, if any: what a step's `save_header` saves. */
  sentSignature?: string;
}
