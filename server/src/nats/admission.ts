import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import { reserveSeat, emptySeats, type SeatTimings } from "../rooms/seats.js";
import type { Admission, ParticipantService } from "../services/participant-service.js";
import type { Seat } from "../store/records.js";
import type { RoomStore } from "../store/room-store.js";
import type { Kicker } from "./kicker.js";

export interface ConnectionAdmissionOptions {
  store: RoomStore;
  participants: ParticipantService;
  kicker: Kicker;
  timings: SeatTimings;
  now?: () => number;
}

export interface ConnectionIdentity {
  cid: number;
  serverId: string;
}

export interface ConnectionAdmission {
  /**
   * Every admission rule for a NATS connection, whether or not the client
   * called VerifyToken first. The seat is taken with compare-and-set, so
   * concurrent connects on any number of instances never exceed the limit.
   */
  admit(token: string | undefined, connection: ConnectionIdentity): Promise<Admission>;
}

export function createConnectionAdmission(options: ConnectionAdmissionOptions): ConnectionAdmission {
  const { store, participants, kicker, timings } = options;
  const now = options.now ?? Date.now;
  return {
    async admit(token, connection) {
      const admission = await participants.admit(token);
      const { room, user, claims } = admission;
      if (user.waitingForApproval) throw pnmError(FailureReason.USER_WAITING_FOR_APPROVAL, "user is waiting for approval");
      let replaced: Seat | undefined;
      await store.modify(store.seats, room.roomId, (current) => {
        const reservation = reserveSeat(
          current?.value ?? emptySeats(),
          { userId: claims.sub, issuedAt: user.issuedAt, cid: connection.cid, serverId: connection.serverId, limit: room.maxParticipants, now: now() },
          timings,
        );
        replaced = reservation.replaced;
        return reservation.record;
      });
      // The older connection of the same user goes; its disconnect event no longer matches the seat.
      if (replaced) void kicker.kick(replaced);
      return admission;
    },
  };
}
