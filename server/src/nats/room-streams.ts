import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { creatingWithReplicas, ensureStreamReplicas, NatsReplicasError } from "./replicas.js";
import { natsSubjects, roomStreamName } from "./subjects.js";

export const workerConsumerName = "pnm-sysJsWorker";

/** NATS refused to read, create or change one of the streams pnm needs, or its consumer; `cause` is NATS's error. */
export class RoomStreamError extends Error {
  override readonly name = "RoomStreamError";
}

/**
 * How much the JetStream work queue holds. A publish beyond a limit is refused
 * by JetStream (discard new), answered to the publisher's reply subject with
 * a JetStream error: the queue never silently drops what it accepted, and one
 * participant filling its own share leaves the others' untouched.
 */
export interface WorkerQueueLimits {
  /** Requests waiting per participant (per worker subject); more are refused with "maximum messages per subject exceeded" (`PNM_WORKER_QUEUE_PER_USER`). */
  perUser: number;
  /** Bytes waiting in the whole queue; more are refused for everyone until pnm catches up (`PNM_WORKER_QUEUE_BYTES`). */
  maxBytes: number;
}

export const defaultWorkerQueueLimits: Readonly<WorkerQueueLimits> = { perUser: 100, maxBytes: 64 * 1024 * 1024 };

/** The largest request the work queue takes: requests carry at most a token, so 64 KiB is generous. */
export const workerRequestMaxBytes = 64 * 1024;

/**
 * The streams upstream clients expect: the room stream that keeps server
 * messages (sysPublic/sysPrivate), and the work queue for requests that
 * participants publish with JetStream (one server instance takes each).
 * Each has `replicas` replicas (`PNM_NATS_REPLICAS`); an existing stream with
 * fewer is raised to it, never lowered.
 */
export async function ensureRoomStreams(
  nc: NatsConnection,
  workerQueue: WorkerQueueLimits = defaultWorkerQueueLimits,
  replicas = 1,
): Promise<JetStreamClient> {
  // A replicated stream takes its cluster a moment to create, longer than the default 5 s when busy.
  const jsm = await jetstreamManager(nc, { timeout: replicas > 1 ? 15_000 : 5_000 });
  await upsertStream(jsm, replicas, {
    name: roomStreamName,
    subjects: [`${natsSubjects.systemPublic}.>`, `${natsSubjects.systemPrivate}.>`],
    retention: RetentionPolicy.Interest,
    max_age: 24 * 3600 * 1e9,
  });
  await upsertStream(jsm, replicas, {
    name: natsSubjects.systemJsWorker,
    subjects: [`${natsSubjects.systemJsWorker}.*.*`],
    retention: RetentionPolicy.Workqueue,
    max_age: 3600 * 1e9,
    max_msgs_per_subject: workerQueue.perUser,
    max_bytes: workerQueue.maxBytes,
    max_msg_size: workerRequestMaxBytes,
    discard: DiscardPolicy.New,
    discard_new_per_subject: true,
  });
  await jsm.consumers
    .add(natsSubjects.systemJsWorker, {
      durable_name: workerConsumerName,
      ack_policy: AckPolicy.Explicit,
      max_deliver: 3,
    })
    .catch((cause: unknown) => {
      throw new RoomStreamError(
        `NATS refused consumer ${workerConsumerName} of stream ${natsSubjects.systemJsWorker}`,
        { cause },
      );
    });
  return jetstream(nc);
}

/**
 * Creates the stream when NATS says it does not exist, and otherwise brings it
 * to `config`. Any other answer, and a refused update in particular, is
 * reported as it is: creating over it would only fail with a misleading
 * "already in use". The replica count only goes up (a stream made with more
 * by an operator keeps them).
 */
/** JetStream's "stream name already in use" (not among @nats-io/jetstream's named codes). */
const streamNameInUse = 10058;

async function upsertStream(
  jsm: JetStreamManager,
  replicas: number,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<void> {
  // Instances starting together race to create the stream: the loser's create
  // fails ("already in use") or times out while the cluster places it; the
  // next attempt sees the stream and updates it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await upsertStreamOnce(jsm, replicas, wanted);
    } catch (error) {
      const cause = (error as Error).cause;
      const transient =
        (cause instanceof Error && cause.name === "TimeoutError") ||
        (cause instanceof JetStreamApiError && cause.code === streamNameInUse);
      if (!transient || attempt >= 3) throw error;
      await new Promise((done) => setTimeout(done, 500 * attempt));
    }
  }
}

async function upsertStreamOnce(
  jsm: JetStreamManager,
  replicas: number,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<void> {
  let config: Partial<StreamConfig> & { name: string } = { ...wanted, num_replicas: replicas };
  const exists = await jsm.streams.info(config.name).then(
    (info) => {
      config = { ...config, num_replicas: Math.max(replicas, info.config.num_replicas || 1) };
      return true;
    },
    (cause: unknown) => {
      if (cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.StreamNotFound) return false;
      throw new RoomStreamError(`cannot read stream ${config.name}`, { cause });
    },
  );
  try {
    if (exists) await jsm.streams.update(config.name, config);
    else await creatingWithReplicas(`stream ${config.name}`, replicas, () => jsm.streams.add(config));
  } catch (cause) {
    if (cause instanceof NatsReplicasError) throw cause;
    // A refusal for want of replicas gets the message that says what to do.
    if (exists) await ensureStreamReplicas(jsm, config.name, replicas);
    const what = `${exists ? "update" : "create"} stream ${config.name} (${replicas} replica(s))`;
    throw new RoomStreamError(`NATS refused to ${what}`, { cause });
  }
}
