import type { NatsConnection } from "@nats-io/nats-core";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * pnm's Prometheus metrics, in a registry of their own (never prom-client's
 * global one), so that several servers in one process each count their own.
 */
export interface PnmMetrics {
  readonly registry: Registry;
  /** Requests on the HTTP port, by RPC (`CreateRoom`, …), protocol and Connect code (`ok`, `unauthenticated`, …). */
  readonly rpcRequests: Counter<"method" | "protocol" | "code" | "reason">;
  readonly rpcDuration: Histogram<"method" | "code">;
  /** The auth callout's answers to nats-server: `allowed`, or the refusal's reason. */
  readonly calloutDecisions: Counter<"decision" | "reason">;
  readonly calloutDuration: Histogram<"decision">;
  /** NATS connections admitted (to the room or its waiting room) and refused, by reason. */
  readonly admissions: Counter<"outcome" | "reason">;
  /** Compare-and-set writes the store retried because another writer got there first, by bucket. */
  readonly casRetries: Counter<"bucket">;
  /** Round trips the store made to NATS KV, by bucket and operation (`get`, `update`, `watch`, …). */
  readonly storeOperations: Counter<"bucket" | "operation">;
  /** 1 while the named NATS connection is up, 0 while it is down or closed. */
  readonly natsConnected: Gauge<"connection">;
  readonly natsReconnects: Counter<"connection">;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Fresh metrics in a new registry; with `processMetrics`, prom-client's process and Node.js metrics too. */
export function createPnmMetrics(options: { processMetrics?: boolean } = {}): PnmMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    rpcRequests: new Counter({
      name: "pnm_rpc_requests_total",
      help: "Requests on the HTTP port by RPC, protocol, Connect code and pnm failure reason",
      labelNames: ["method", "protocol", "code", "reason"],
      registers,
    }),
    rpcDuration: new Histogram({
      name: "pnm_rpc_duration_seconds",
      help: "Time from a request's arrival to the end of its answer",
      labelNames: ["method", "code"],
      buckets: latencyBuckets,
      registers,
    }),
    calloutDecisions: new Counter({
      name: "pnm_auth_callout_decisions_total",
      help: "Auth callout answers: allowed, or refused with the pnm failure reason",
      labelNames: ["decision", "reason"],
      registers,
    }),
    calloutDuration: new Histogram({
      name: "pnm_auth_callout_duration_seconds",
      help: "Time the auth callout took to answer an authorization request",
      labelNames: ["decision"],
      buckets: latencyBuckets,
      registers,
    }),
    admissions: new Counter({
      name: "pnm_admissions_total",
      help: "NATS connections admitted (room or waiting_room) and refused, by reason",
      labelNames: ["outcome", "reason"],
      registers,
    }),
    casRetries: new Counter({
      name: "pnm_store_cas_retries_total",
      help: "Compare-and-set writes retried after another writer changed the key first, by bucket",
      labelNames: ["bucket"],
      registers,
    }),
    storeOperations: new Counter({
      name: "pnm_store_operations_total",
      help: "Round trips the store made to NATS KV, by bucket and operation",
      labelNames: ["bucket", "operation"],
      registers,
    }),
    natsConnected: new Gauge({
      name: "pnm_nats_connected",
      help: "1 while the named NATS connection is up, 0 while it is down",
      labelNames: ["connection"],
      registers,
    }),
    natsReconnects: new Counter({
      name: "pnm_nats_reconnects_total",
      help: "Times the named NATS connection reconnected",
      labelNames: ["connection"],
      registers,
    }),
  };
}

/** Follows `nc`'s status into `pnm_nats_connected` and `pnm_nats_reconnects_total` until it closes. */
export function observeNatsConnection(metrics: PnmMetrics, nc: NatsConnection, connection: string): void {
  metrics.natsConnected.set({ connection }, nc.isClosed() ? 0 : 1);
  metrics.natsReconnects.inc({ connection }, 0);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") metrics.natsConnected.set({ connection }, 0);
      else if (status.type === "reconnect") {
        metrics.natsConnected.set({ connection }, 1);
        metrics.natsReconnects.inc({ connection });
      }
    }
  })().catch(() => undefined);
  void nc.closed().then(() => metrics.natsConnected.set({ connection }, 0));
}
