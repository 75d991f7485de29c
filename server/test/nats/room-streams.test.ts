import {
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureRoomStreams, RoomStreamError, workerConsumerName } from "../../src/nats/room-streams.js";
import { natsSubjects, roomStreamName } from "../../src/nats/subjects.js";
import { startTestNats, type TestNats } from "../support/harness.js";

// nats-server's codes (not in JetStreamApiCodes) for a refused configuration
// change and for a create over an existing stream.
const streamInvalidConfig = 10052;
const streamNameInUse = 10058;
// And for a publish refused by the stream's limits: per subject (discard new), and by size.
const maxMessagesPerSubjectExceeded = 10077;
const messageExceedsMaximum = 10054;

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
beforeAll(async () => {
  nats = await startTestNats();
  nc = await nats.connect();
  jsm = await jetstreamManager(nc);
});
afterAll(() => nats?.stop());
beforeEach(async () => {
  for await (const name of jsm.streams.names()) await jsm.streams.delete(name);
});

describe("ensureRoomStreams", () => {
  it("creates the streams and the worker consumer when NATS reports them missing", async () => {
    await ensureRoomStreams(nc);
    expect((await jsm.streams.info(roomStreamName)).config).toMatchObject({
      retention: RetentionPolicy.Interest,
      subjects: [`${natsSubjects.systemPublic}.>`, `${natsSubjects.systemPrivate}.>`],
    });
    expect((await jsm.streams.info(natsSubjects.systemJsWorker)).config).toMatchObject({
      retention: RetentionPolicy.Workqueue,
    });
    expect((await jsm.consumers.info(natsSubjects.systemJsWorker, workerConsumerName)).config.durable_name).toBe(
      workerConsumerName,
    );
  });

  it("limits the work queue per participant, refusing the publish past a participant's share while the others' go on", async () => {
    // As earlier versions of pnm left it: no limits but the age; the update adds them.
    const subjects = [`${natsSubjects.systemJsWorker}.*.*`];
    await jsm.streams.add({
      name: natsSubjects.systemJsWorker,
      subjects,
      retention: RetentionPolicy.Workqueue,
      max_age: 3600 * 1e9,
    });
    await ensureRoomStreams(nc, { perUser: 3, maxBytes: 1024 * 1024 });
    expect((await jsm.streams.info(natsSubjects.systemJsWorker)).config).toMatchObject({
      max_msgs_per_subject: 3,
      max_bytes: 1024 * 1024,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
    });
    // Nobody consumes here, so the requests stay queued.
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) await js.publish(`${natsSubjects.systemJsWorker}.r1.flooder`, "request");
    const refused = await js.publish(`${natsSubjects.systemJsWorker}.r1.flooder`, "one too many").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(JetStreamApiError);
    expect((refused as JetStreamApiError).code).toBe(maxMessagesPerSubjectExceeded);
    await expect(js.publish(`${natsSubjects.systemJsWorker}.r1.other`, "request")).resolves.toMatchObject({
      stream: natsSubjects.systemJsWorker,
    });
    const tooLarge = await js.publish(`${natsSubjects.systemJsWorker}.r1.other`, new Uint8Array(64 * 1024 + 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(tooLarge).toBeInstanceOf(JetStreamApiError);
    expect((tooLarge as JetStreamApiError).code).toBe(messageExceedsMaximum);
  });

  it("brings an existing stream to pnm's configuration", async () => {
    await jsm.streams.add({
      name: roomStreamName,
      subjects: [`${natsSubjects.systemPublic}.>`],
      retention: RetentionPolicy.Interest,
    });
    await ensureRoomStreams(nc);
    expect((await jsm.streams.info(roomStreamName)).config.subjects).toEqual([
      `${natsSubjects.systemPublic}.>`,
      `${natsSubjects.systemPrivate}.>`,
    ]);
  });

  it("surfaces NATS's refusal of an update as its cause, rather than trying to create the stream", async () => {
    // A work queue cannot be made from a stream of another retention policy.
    await jsm.streams.add({
      name: natsSubjects.systemJsWorker,
      subjects: [`${natsSubjects.systemJsWorker}.*.*`],
      retention: RetentionPolicy.Limits,
    });
    const err = await ensureRoomStreams(nc).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RoomStreamError);
    const cause = (err as RoomStreamError).cause;
    expect(cause).toBeInstanceOf(JetStreamApiError);
    expect((cause as JetStreamApiError).code).toBe(streamInvalidConfig);
    expect((cause as JetStreamApiError).code).not.toBe(streamNameInUse);
    expect((await jsm.streams.info(natsSubjects.systemJsWorker)).config.retention).toBe(RetentionPolicy.Limits);
  });
});
