import { defaultNatsAccountLimits, type NatsAccountLimits } from "../nats/nats-config.js";
import { defaultWorkerQueueLimits, type WorkerQueueLimits } from "../nats/room-streams.js";
import { defaultPublishLimits, type PublishLimits } from "./publish-monitor.js";
import type { RateLimit } from "./rate-limits.js";
import { defaultRequestLimit } from "./request-limits.js";

/** Every per-participant limit of the NATS plane, and where each is enforced. */
export interface ParticipantLimits {
  /** Subscriptions and payload per connection: nats-server, through the PNM account's limits. */
  nats: NatsAccountLimits;
  /** Requests on the worker subjects: pnm, a token bucket per participant, refusals answered with RATE_LIMITED. */
  request: RateLimit;
  /** Messages and bytes per second on every subject: pnm, from nats-server's counters; the session ends with RATE_LIMITED. */
  publish: PublishLimits;
  /** The JetStream work queue: JetStream refuses what exceeds it. */
  workerQueue: WorkerQueueLimits;
}

/** The settings of PnmConfig (config.ts) that set the limits; each unset one takes pnm's default. */
export interface ParticipantLimitSettings {
  /** Subscriptions per NATS connection in PNM, enforced by the embedded nats-server (`PNM_NATS_MAX_SUBSCRIPTIONS`); unset: 64. */
  natsMaxSubscriptions?: number;
  /** Largest message a NATS connection in PNM may publish, enforced by the embedded nats-server (`PNM_NATS_MAX_PAYLOAD`); unset: 1 MiB. */
  natsMaxPayload?: number;
  /** Worker requests per second one participant may send (`PNM_REQUEST_RATE`); unset: 10. */
  requestRate?: number;
  /** Worker requests one participant may send at once (`PNM_REQUEST_BURST`); unset: 30. */
  requestBurst?: number;
  /** Messages per second one participant may publish, every subject together (`PNM_PUBLISH_RATE`); unset: 200. */
  publishRate?: number;
  /** Bytes per second one participant may publish (`PNM_PUBLISH_BYTE_RATE`); unset: 2 MiB. */
  publishByteRate?: number;
  /** How often the publish counters are read, 0 for never (`PNM_PUBLISH_CHECK_INTERVAL`); unset: 1s. */
  publishCheckIntervalMs?: number;
  /** Requests one participant may have waiting in the JetStream work queue (`PNM_WORKER_QUEUE_PER_USER`); unset: 100. */
  workerQueuePerUser?: number;
  /** Bytes the JetStream work queue holds in all (`PNM_WORKER_QUEUE_BYTES`); unset: 64 MiB. */
  workerQueueBytes?: number;
}

/** The limits `config` sets, pnm's defaults for those it leaves unset. */
export function participantLimits(config: ParticipantLimitSettings): ParticipantLimits {
  return {
    nats: {
      maxSubscriptions: config.natsMaxSubscriptions ?? defaultNatsAccountLimits.maxSubscriptions,
      maxPayload: config.natsMaxPayload ?? defaultNatsAccountLimits.maxPayload,
    },
    request: {
      ratePerSecond: config.requestRate ?? defaultRequestLimit.ratePerSecond,
      burst: config.requestBurst ?? defaultRequestLimit.burst,
    },
    publish: {
      messagesPerSecond: config.publishRate ?? defaultPublishLimits.messagesPerSecond,
      bytesPerSecond: config.publishByteRate ?? defaultPublishLimits.bytesPerSecond,
      checkIntervalMs: config.publishCheckIntervalMs ?? defaultPublishLimits.checkIntervalMs,
    },
    workerQueue: {
      perUser: config.workerQueuePerUser ?? defaultWorkerQueueLimits.perUser,
      maxBytes: config.workerQueueBytes ?? defaultWorkerQueueLimits.maxBytes,
    },
  };
}
