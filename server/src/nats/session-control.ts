import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorDetailSchema, type FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { Logger } from "../logger.js";
import type { Seat } from "../store/records.js";
import type { Kicker } from "./kicker.js";
import type { ParticipantMessenger } from "./participant-messenger.js";

export interface SessionEnd {
  /** Typed, in the SESSION_ENDED message's bin_msg as an ErrorDetail. */
  reason: FailureReason;
  /** Shown to the participant. */
  message: string;
}

export interface SessionControl {
  /** Tells each participant why, then closes its NATS connection at once. */
  end(roomId: string, sessions: [userId: string, seat: Seat][], why: SessionEnd): Promise<void>;
}

export function createSessionControl(messenger: ParticipantMessenger, kicker: Kicker, logger: Logger): SessionControl {
  return {
    async end(roomId, sessions, why) {
      const detail = toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason: why.reason }));
      await Promise.all(
        sessions.map(async ([userId, seat]) => {
          await messenger
            .toUser(roomId, userId, { event: NatsMsgServerToClientEvent.SESSION_ENDED, msg: why.message, binMsg: detail })
            .catch((err: unknown) => logger.error("session end notice failed", err));
          await kicker.kick(seat);
        }),
      );
    },
  };
}
