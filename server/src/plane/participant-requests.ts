import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { ConsumerMessages, JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { RoomMetadataSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import {
  MediaServerConnInfoSchema,
  NatsInitialDataSchema,
  type NatsMsgClientToServer,
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  NatsMsgServerToClientEvent,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { ApproveParticipantRequestSchema, DenyParticipantRequestSchema } from "@pnm/protocol/pnm/v1/participants_pb";
import { RenewalFailureSchema, RenewalSuccessSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { failureInfo, pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { MediaTokenIssuer } from "../media/media-tokens.js";
import { workerConsumerName } from "../nats/room-streams.js";
import { natsSubjects } from "../nats/subjects.js";
import { assertApproved, type Membership } from "../rooms/membership.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import type { ParticipantService } from "../services/participant-service.js";
import type { RoomService } from "../services/room-service.js";
import type { TokenRenewal } from "../services/token-renewal.js";
import type { ParticipantMessenger, ServerMessage } from "./participant-messenger.js";
import type { RequestLimiter } from "./request-limits.js";
import { type RoomRoster, userListJson } from "./room-roster.js";
import { isUpstreamWebClientRoom } from "./upstream-web-client.js";

export interface ParticipantRequestsOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  participants: ParticipantService;
  renewal: TokenRenewal;
  messenger: ParticipantMessenger;
  logger: Logger;
  /** Unset: media requests are refused as unavailable. */
  media?: MediaTokenIssuer;
  /** Decides on waiting users for admins' requests; unset: those requests are dropped unanswered. */
  waitingRoom?: Pick<RoomService, "approveParticipant" | "denyParticipant">;
  /** Each participant's request rate (request-limits.ts); unset: no limit. */
  limiter?: RequestLimiter;
  /** Answers the user-list requests; unset: they are dropped unanswered. */
  roster?: RoomRoster;
  /** PNM_UPSTREAM_WEB_CLIENT: rooms may be open to upstream's web client, whose answers differ a little. */
  upstreamWebClient?: boolean;
}

export interface ParticipantRequestContext {
  roomId: string;
  userId: string;
  request: NatsMsgClientToServer;
  /** The room and user checks for this connection's identity, run on demand. */
  admitted(): Promise<Membership>;
}

export type RequestHandler = (context: ParticipantRequestContext) => Promise<void>;

export interface ParticipantRequests {
  close(): Promise<void>;
}

/**
 * Requests participants send on sysJsWorker.<room>.<user> (JetStream work
 * queue) or sysCoreWorker.<room>.<user> (core, queue group). NATS permissions
 * let a user publish only on its own subjects, so the subject is the sender's
 * identity.
 */
export async function startParticipantRequests(options: ParticipantRequestsOptions): Promise<ParticipantRequests> {
  const { participants, renewal, messenger, logger } = options;

  const handlers: Partial<Record<NatsMsgClientToServerEvent, RequestHandler>> = {
    [NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN]: async ({ roomId, userId, request }) => {
      try {
        const { token, sessionExpiresAt } = await renewal.renew(request.msg, { roomId, userId });
        const renewed = create(RenewalSuccessSchema, {
          requestId: request.id,
          sessionExpiresAt: BigInt(sessionExpiresAt),
        });
        await messenger.toUser(roomId, userId, {
          event: NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
          msg: token,
          binMsg: toBinary(RenewalSuccessSchema, renewed),
        });
      } catch (err) {
        const info = failureInfo(err);
        if (info.reason === FailureReason.INTERNAL) logger.error("token renewal failed", err);
        const failure = create(RenewalFailureSchema, { requestId: request.id, reason: info.reason, msg: info.message });
        await messenger.toUser(roomId, userId, {
          event: NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
          binMsg: toBinary(RenewalFailureSchema, failure),
        });
      }
    },
    [NatsMsgClientToServerEvent.REQ_INITIAL_DATA]: async ({ roomId, userId, admitted }) => {
      const { room, user } = await admitted();
      const waiting = user.waitingForApproval;
      const upstream = isUpstreamWebClientRoom(room, options.upstreamWebClient ?? false);
      // Told, not ignored: the client learns that it waits, and for what to wait (WAITING_ROOM_APPROVED or SESSION_ENDED).
      const refusal = waiting
        ? errorDetail(pnmError(FailureReason.USER_WAITING_FOR_APPROVAL, "user is waiting for approval"))
        : undefined;
      if (refusal && !upstream)
        return messenger.toUser(roomId, userId, {
          event: NatsMsgServerToClientEvent.RES_INITIAL_DATA,
          binMsg: refusal,
        });
      // The E2EE key goes into an approved participant's copy only.
      const metadata = parseRoomMetadata(room.metadataJson);
      const e2ee = metadata.roomFeatures?.endToEndEncryptionFeatures;
      if (!waiting && e2ee && room.e2eeKey) e2ee.encryptionKey = room.e2eeKey;
      const initial = create(NatsInitialDataSchema, {
        room: {
          roomId: room.roomId,
          roomSid: room.sid,
          status: room.status,
          emptyTimeout: BigInt(room.emptyTimeoutSeconds),
          maxParticipants: BigInt(room.maxParticipants),
          metadata: toJsonString(RoomMetadataSchema, metadata, { useProtoFieldName: true }),
          createdAt: BigInt(room.createdAt),
        },
        localUser: {
          userId: user.userId,
          name: user.name,
          isAdmin: user.isAdmin,
          metadata: user.metadataJson,
          clientType: user.clientType,
        },
      });
      await messenger.toUser(roomId, userId, {
        event: NatsMsgServerToClientEvent.RES_INITIAL_DATA,
        msg: toJsonString(NatsInitialDataSchema, initial, { useProtoFieldName: true }),
        // Upstream's web client decodes msg whatever happens: a waiting one gets the initial data without the key, whose
        // local user's wait_for_approval shows its waiting screen, and the refusal besides.
        ...(refusal && { binMsg: refusal }),
      });
    },
    [NatsMsgClientToServerEvent.PING]: async ({ roomId, userId }) => {
      await messenger.toUser(roomId, userId, { event: NatsMsgServerToClientEvent.PONG, msg: String(Date.now()) });
    },
    [NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA]: async ({ roomId, userId, admitted }) => {
      let answer: ServerMessage;
      let upstream = false;
      try {
        const member = await admitted();
        upstream = isUpstreamWebClientRoom(member.room, options.upstreamWebClient ?? false);
        assertApproved(member.user);
        if (!options.media) throw pnmError(FailureReason.MEDIA_UNAVAILABLE, "no media server is configured");
        const info = await options.media.issue(member);
        answer = {
          event: NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA,
          msg: toJsonString(MediaServerConnInfoSchema, info, { useProtoFieldName: true }),
        };
      } catch (err) {
        answer = { event: NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA, binMsg: errorDetail(err) };
        // Upstream's web client decodes msg as MediaServerConnInfo and shows a decode error page for an empty one.
        if (upstream) answer.msg = "{}";
      }
      await messenger.toUser(roomId, userId, answer);
    },
  };

  // The room's users who are online, for an admitted participant (everyone but the asker; hidden users never).
  const { roster } = options;
  if (roster) {
    const userList =
      (answer: NatsMsgServerToClientEvent): RequestHandler =>
      async ({ roomId, userId, admitted }) => {
        let message: ServerMessage;
        let upstream = false;
        try {
          const { room, user } = await admitted();
          upstream = isUpstreamWebClientRoom(room, options.upstreamWebClient ?? false);
          assertApproved(user);
          const features = parseRoomMetadata(room.metadataJson).roomFeatures;
          const visible = user.isAdmin || features?.allowViewOtherUsersList !== false;
          message = { event: answer, msg: userListJson(visible ? await roster.online(roomId, room.sid, userId) : []) };
        } catch (err) {
          if (failureInfo(err).reason === FailureReason.INTERNAL) logger.error("user list failed", err);
          message = { event: answer, binMsg: errorDetail(err) };
          // Upstream's web client parses msg as a JSON array whatever happens, and shows a decode error page otherwise.
          if (upstream) message.msg = "[]";
        }
        await messenger.toUser(roomId, userId, message);
      };
    handlers[NatsMsgClientToServerEvent.REQ_JOINED_USERS_LIST] = userList(
      NatsMsgServerToClientEvent.RES_JOINED_USERS_LIST,
    );
    handlers[NatsMsgClientToServerEvent.REQ_ONLINE_USERS_LIST] = userList(
      NatsMsgServerToClientEvent.RESP_ONLINE_USERS_LIST,
    );
  }

  // An admin's decision on a waiting user (user id in msg), as RoomService's: the sender must be an admitted room admin.
  const decide =
    (
      answer: NatsMsgServerToClientEvent,
      decision: (roomId: string, target: string) => Promise<unknown>,
    ): RequestHandler =>
    async ({ roomId, userId, request, admitted }) => {
      let message: ServerMessage;
      try {
        const { user } = await admitted();
        if (!user.isAdmin || user.waitingForApproval || user.removedAt !== undefined) {
          throw pnmError(FailureReason.ADMIN_REQUIRED, "only an admitted room admin decides on waiting users");
        }
        await decision(roomId, request.msg);
        message = { event: answer, msg: request.msg };
      } catch (err) {
        if (failureInfo(err).reason === FailureReason.INTERNAL) logger.error("waiting room decision failed", err);
        message = { event: answer, binMsg: errorDetail(err) };
      }
      await messenger.toUser(roomId, userId, message);
    };
  const { waitingRoom } = options;
  if (waitingRoom) {
    handlers[NatsMsgClientToServerEvent.REQ_APPROVE_WAITING_USER] = decide(
      NatsMsgServerToClientEvent.RESP_APPROVE_WAITING_USER,
      (roomId, userId) => waitingRoom.approveParticipant(create(ApproveParticipantRequestSchema, { roomId, userId })),
    );
    handlers[NatsMsgClientToServerEvent.REQ_DENY_WAITING_USER] = decide(
      NatsMsgServerToClientEvent.RESP_DENY_WAITING_USER,
      (roomId, userId) => waitingRoom.denyParticipant(create(DenyParticipantRequestSchema, { roomId, userId })),
    );
  }

  async function handle(subject: string, data: Uint8Array): Promise<void> {
    const [, roomId, userId, extra] = subject.split(".");
    if (!roomId || !userId || extra !== undefined) return;
    // Whatever arrives counts, envelope or not.
    const withinRate = options.limiter?.take(roomId, userId) ?? true;
    let request: NatsMsgClientToServer;
    try {
      request = fromBinary(NatsMsgClientToServerSchema, data);
    } catch {
      return; // not an envelope: nothing to answer
    }
    if (!withinRate) {
      return options
        .limiter!.refuse(roomId, userId, request)
        .catch((err: unknown) => logger.error("rate-limit answer failed", err));
    }
    const handler = handlers[request.event];
    if (!handler) return;
    const admitted = () => participants.admitMember(roomId, userId);
    await handler({ roomId, userId, request, admitted }).catch((err: unknown) => {
      if (failureInfo(err).reason === FailureReason.INTERNAL)
        logger.error(`participant request ${request.event} failed`, err);
    });
  }

  const core: Subscription = options.nc.subscribe(`${natsSubjects.systemCoreWorker}.*.*`, {
    queue: "pnm-sysCoreWorker",
    callback: (err, msg) => {
      if (err) return void logger.error("sysCoreWorker subscription failed", err);
      void handle(msg.subject, msg.data);
    },
  });
  const consumer = await options.js.consumers.get(natsSubjects.systemJsWorker, workerConsumerName);
  const messages: ConsumerMessages = await consumer.consume({
    callback: (msg) => {
      void handle(msg.subject, msg.data).finally(() => msg.ack());
    },
  });
  return {
    async close() {
      core.unsubscribe();
      await messages.close();
    },
  };
}

/** A refusal as the typed detail pnm puts in bin_msg; internal errors keep their text to the log. */
function errorDetail(err: unknown): Uint8Array {
  const { reason, statusCode } = failureInfo(err);
  return toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason, statusCode }));
}
