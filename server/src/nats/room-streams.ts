import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, RetentionPolicy, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { natsSubjects, roomStreamName } from "./subjects.js";

export const workerConsumerName = "pnm-sysJsWorker";

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
  await jsm.consumers.add(natsSubjects.systemJsWorker, {
    durable_name: workerConsumerName,
    ack_policy: AckPolicy.Explicit,
    max_deliver: 3,
  });
  return jetstream(nc);
}

async function upsertStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch {
    await jsm.streams.add(config);
  }
}
