import {
  AckPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
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
 * The streams upstream clients expect: the room stream that keeps server
 * messages (sysPublic/sysPrivate), and the work queue for requests that
 * participants publish with JetStream (one server instance takes each).
 */
export async function ensureRoomStreams(nc: NatsConnection): Promise<JetStreamClient> {
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
  });
  await jsm.consumers
    .add(natsSubjects.systemJsWorker, { durable_name: workerConsumerName, ack_policy: AckPolicy.Explicit, max_deliver: 3 })
    .catch((cause: unknown) => {
      throw new RoomStreamError(`NATS refused consumer ${workerConsumerName} of stream ${natsSubjects.systemJsWorker}`, { cause });
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
