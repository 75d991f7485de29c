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
 */
export async function ensureRoomStreams(
  nc: NatsConnection,
  workerQueue: WorkerQueueLimits = defaultWorkerQueueLimits,
): Promise<JetStreamClient> {
  const jsm = await jetstreamManager(nc);
  await upsertStream(jsm, {
    name: roomStreamName,
    subjects: [`${natsSubjects.systemPublic}.>`, `${natsSubjects.systemPrivate}.>`],
    retention: RetentionPolicy.Interest,
    max_age: 24 * 3600 * 1e9,
  });
  await upsertStream(jsm, {
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
 * "already in use".
 */
async function upsertStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  const exists = await jsm.streams.info(config.name).then(
    () => true,
    (cause: unknown) => {
      if (cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.StreamNotFound) return false;
      throw new RoomStreamError(`cannot read stream ${config.name}`, { cause });
    },
  );
  try {
    if (exists) await jsm.streams.update(config.name, config);
    else await jsm.streams.add(config);
  } catch (cause) {
    throw new RoomStreamError(`NATS refused to ${exists ? "update" : "create"} stream ${config.name}`, { cause });
  }
}
