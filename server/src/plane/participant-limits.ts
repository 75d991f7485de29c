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
  natsMaxSubscriptions?: number;
  natsMaxPayload?: number;
  requestRate?: number;
  requestBurst?: number;
  publishRate?: number;
  publishByteRate?: number;
  publishCheckIntervalMs?: number;
  workerQueuePerUser?: number;
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
