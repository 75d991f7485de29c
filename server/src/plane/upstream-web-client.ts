import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import { natsSubjects, roomStreamName } from "../nats/subjects.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import type { RoomRecord } from "../store/records.js";
import type { Permissions } from "./permissions.js";

/**
 * Whether a room is open to upstream's unmodified web client: its
 * `upstream_web_client` feature, on a server where PNM_UPSTREAM_WEB_CLIENT
 * is on. Switching the server off closes every such room to it at once.
 */
export function isUpstreamWebClientRoom(room: RoomRecord, serverAllows: boolean): boolean {
  return serverAllows && parseRoomMetadata(room.metadataJson).roomFeatures?.upstreamWebClient === true;
}

/** The durable consumer upstream's web client reads its room's messages from: `<room>_<user>`, as upstream names it. */
export function upstreamConsumerName(roomId: string, userId: string): string {
  return `${roomId}_${userId}`;
}

/**
 * What upstream's web client needs on top of `base` (the strict set of a
 * participant or of a waiting user): `_INBOX.>`, because it sets no inbox
 * prefix, and the JetStream API of its own consumer only (`consumers.get`,
 * pulls and acks). `_INBOX.>` cannot be narrowed: it reaches every reply in
 * account PNM sent to the default `_INBOX` root, which only such clients use
 * (pnm's own connections and strict participants reply elsewhere).
 */
export function upstreamWebClientPermissions(base: Permissions, roomId: string, userId: string): Permissions {
  const consumer = `${roomStreamName}.${upstreamConsumerName(roomId, userId)}`;
  return {
    pub: {
      allow: [
        ...base.pub.allow,
        `$JS.API.CONSUMER.INFO.${consumer}`,
        `$JS.API.CONSUMER.MSG.NEXT.${consumer}`,
        `$JS.ACK.${consumer}.>`,
      ],
    },
    sub: { allow: [...base.sub.allow, "_INBOX.>"] },
  };
}

/** Creates and deletes the consumers of upstream web clients. */
export interface UpstreamConsumers {
  /**
   * Creates the user's consumer on the room stream, or keeps the one it
   * has (a reconnect reads on where it stopped). Refuses when a consumer of
   * that name reads other subjects: another user's consumer is never handed
   * over. Rooms open to the web client have no `_` in their ids
   * (rooms/room-defaults.ts), so each name belongs to one room and user; this
   * check holds even for a consumer that outlived that rule.
   */
  open(roomId: string, userId: string): Promise<void>;
  /** Deletes the user's consumer; one that does not exist is no error. */
  close(roomId: string, userId: string): Promise<void>;
}

export interface UpstreamConsumersOptions {
  jsm: JetStreamManager;
  logger: Logger;
  /**
   * JetStream deletes a consumer nobody pulled from for this long, a backstop
   * for one whose deletion was missed (an instance that stopped meanwhile);
   * pnm deletes it itself when the session ends or goes offline.
   */
  inactiveAfterMs: number;
}

/** JetStream's "consumer already exists" with another configuration (not among @nats-io/jetstream's named codes). */
const consumerExists = 10148;

export function createUpstreamConsumers(options: UpstreamConsumersOptions): UpstreamConsumers {
  const { jsm, logger } = options;
  return {
    async open(roomId, userId) {
      const name = upstreamConsumerName(roomId, userId);
      const filters = [
        `${natsSubjects.systemPublic}.${roomId}.>`,
        `${natsSubjects.systemPrivate}.${roomId}.${userId}.>`,
      ];
      try {
        await jsm.consumers.add(roomStreamName, {
          durable_name: name,
          filter_subjects: filters,
          deliver_policy: DeliverPolicy.New,
          ack_policy: AckPolicy.Explicit,
          inactive_threshold: options.inactiveAfterMs * 1_000_000,
        });
      } catch (cause) {
        if (cause instanceof JetStreamApiError && cause.code === consumerExists) {
          const existing = await jsm.consumers.info(roomStreamName, name);
          const same = existing.config.filter_subjects?.join(" ") === filters.join(" ");
          if (same) return;
          throw pnmError(
            FailureReason.USER_ALREADY_ONLINE,
            `consumer ${name} reads another user's subjects; it is not handed over`,
          );
        }
        throw cause;
      }
    },
    async close(roomId, userId) {
      try {
        await jsm.consumers.delete(roomStreamName, upstreamConsumerName(roomId, userId));
      } catch (cause) {
        if (cause instanceof JetStreamApiError && cause.code === JetStreamApiCodes.ConsumerNotFound) return;
        logger.error(`deleting the consumer of ${roomId}/${userId} failed`, cause);
      }
    },
  };
}
