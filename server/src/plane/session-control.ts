import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorDetailSchema } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { Logger } from "../logger.js";
import type { SessionControl } from "../services/room-service.js";
import type { Kicker } from "./kicker.js";
import type { ParticipantMessenger } from "./participant-messenger.js";

/**
 * Session ends over NATS: a SESSION_ENDED message on the participant's private subject, then a kick.
 * A promotion from the waiting room likewise: WAITING_ROOM_APPROVED, then a kick of the waiting-room
 * connection, whose permissions cannot grow; the participant reconnects and gets the room's.
 */
export function createSessionControl(
  messenger: ParticipantMessenger,
  kicker: Kicker,
  logger: Logger,
  /** After a session's kick: what else goes with it (the consumer of upstream's web client). */
  onEnded?: (roomId: string, userId: string) => Promise<void>,
  /** Before WAITING_ROOM_APPROVED: what else tells an approved user (upstream's web client's signal). */
  onPromoted?: (roomId: string, userId: string) => Promise<void>,
): SessionControl {
  return {
    async end(roomId, sessions, why) {
      const detail = toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason: why.reason }));
      await Promise.all(
        sessions.map(async ([userId, seat]) => {
          await messenger
            .toUser(roomId, userId, {
              event: NatsMsgServerToClientEvent.SESSION_ENDED,
              msg: why.message,
              binMsg: detail,
            })
            .catch((err: unknown) => logger.error("session end notice failed", err));
          await kicker.kick(seat);
          await onEnded?.(roomId, userId);
        }),
      );
    },
    async promote(roomId, userId, waiting) {
      await onPromoted?.(roomId, userId).catch((err: unknown) => logger.error("approval notice failed", err));
      await messenger
        .toUser(roomId, userId, { event: NatsMsgServerToClientEvent.WAITING_ROOM_APPROVED })
        .catch((err: unknown) => logger.error("waiting room approval notice failed", err));
      if (waiting) await kicker.kick(waiting);
    },
  };
}
