import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { failureInfo } from "../errors.js";
import { type Logger, logEvent } from "../logger.js";
import type { PnmMetrics } from "../metrics.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./connect-routes.js";

/** What the routes learn about one request while they answer it, for its log line and metrics. */
export interface RequestRecord {
  /** The caller's `x-request-id` when it is a plain token of at most 64 characters, else a new UUID; echoed in the answer. */
  readonly id: string;
  /** The error the request was refused or failed with; unset for a success. */
  failure?: unknown;
  /** The client went away before it was answered. */
  aborted?: boolean;
}

const records = new WeakMap<NodeRequest, RequestRecord>();

/** The record of a request `observeRequests` is watching; undefined for any other. */
export function requestRecord(req: NodeRequest): RequestRecord | undefined {
  return records.get(req);
}

/** Notes why `req` was refused or failed. */
export function noteFailure(req: NodeRequest, err: unknown): void {
  const record = records.get(req);
  if (record) record.failure = err;
}

/** Notes that the client of `req` went away before its answer. */
export function noteAborted(req: NodeRequest): void {
  const record = records.get(req);
  if (record) record.aborted = true;
}

/** Where request lines and metrics go. */
export interface RequestLogOptions {
  logger: Logger;
  metrics?: PnmMetrics;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * `handler` with one info line per request when its answer ends (request id,
 * route, RPC, protocol, HTTP status, outcome, Connect code, pnm failure
 * reason, latency) and the RPC metrics. Headers and bodies are never logged:
 * they carry signatures and tokens.
 */
export function observeRequests(
  options: RequestLogOptions,
  route: string,
  method: string,
  handler: NodeHandler,
): NodeHandler {
  return (req, res) => {
    const start = process.hrtime.bigint();
    const offered = req.headers["x-request-id"];
    const id = typeof offered === "string" && requestIdPattern.test(offered) ? offered : randomUUID();
    const record: RequestRecord = { id };
    records.set(req, record);
    if (!res.headersSent) res.setHeader("x-request-id", id);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const protocol = protocolOf(route, req.headers["content-type"]);
      const ended = res.writableFinished;
      const outcome = describe(record, res, ended);
      options.metrics?.rpcRequests.inc({ method, protocol, code: outcome.code, reason: outcome.reason ?? "" });
      options.metrics?.rpcDuration.observe({ method, code: outcome.code }, seconds);
      logEvent(
        options.logger,
        "info",
        {
          requestId: id,
          route,
          rpc: method,
          protocol,
          status: res.statusCode,
          outcome: outcome.outcome,
          code: outcome.code,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
          latencyMs: Math.round(seconds * 1e6) / 1e3,
        },
        "request",
      );
    };
    res.once("finish", finish);
    res.once("close", finish);
    handler(req, res);
  };
}

interface Outcome {
  outcome: "ok" | "refused" | "failed" | "aborted";
  code: string;
  reason?: string;
}

function describe(record: RequestRecord, res: NodeResponse, ended: boolean): Outcome {
  if (record.failure !== undefined) {
    const info = failureInfo(record.failure);
    const code = record.failure instanceof ConnectError ? record.failure.code : info.code;
    if (code === Code.Aborted || code === Code.Canceled) return { outcome: "aborted", code: codeName(code) };
    return {
      outcome: info.reason === FailureReason.INTERNAL ? "failed" : "refused",
      code: codeName(code),
      reason: FailureReason[info.reason],
    };
  }
  if (record.aborted || !ended) return { outcome: "aborted", code: codeName(Code.Canceled) };
  if (res.statusCode >= 400) return { outcome: "refused", code: `http_${res.statusCode}` };
  return { outcome: "ok", code: "ok" };
}

/** Connect's code names in snake case, as gRPC spells them: `unauthenticated`, `resource_exhausted`. */
function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function protocolOf(route: string, contentType: string | undefined): string {
  if (!route.startsWith("/pnm.")) return "rest";
  const type = (contentType ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}
