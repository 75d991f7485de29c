import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { failureInfo } from "../errors.js";
import type { PnmMetrics } from "../metrics.js";
import type { Admission } from "../rooms/membership.js";
import type { SeatLedger } from "../rooms/seat-ledger.js";
import { assertRoomOpen, enterWaitingRoom, reserveSeat, type SeatTimings, userSeatsOf } from "../rooms/seats.js";
import type { ParticipantService } from "../services/participant-service.js";
import type { Seat, UserSeat, UserSeatsRecord } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import type { Kicker } from "./kicker.js";

export interface ConnectionAdmissionOptions {
  store: RoomStore;
  participants: ParticipantService;
  kicker: Kicker;
  timings: SeatTimings;
  now?: () => number;
  /** Counts admissions and refusals by reason (`pnm_admissions_total`). */
  metrics?: PnmMetrics;
  /** The rooms' seat counts, shared by everything that takes, frees or counts seats on this instance. */
  ledger: SeatLedger;
}

export interface ConnectionIdentity {
  cid: number;
  serverId: string;
}

/** An admitted connection: to the room, or to its waiting room only. */
export interface ConnectionAdmitted extends Admission {
  /** The waiting room holds the user: the connection gets the waiting room's permissions and no seat. */
  waiting: boolean;
}

export interface ConnectionAdmission {
  /**
   * Every admission rule for a NATS connection, whether or not the client
   * called VerifyToken first. The seat is written to the user's seats record
   * with compare-and-set, then (in a room with a limit) added to the room's
   * count with compare-and-set, so concurrent connects on any number of
   * instances never exceed the limit. A user the waiting room holds takes no
   * seat; its connection is recorded, to be promoted or closed when a
   * moderator decides.
   *
   * The room, user and block are read from the store's watched records, with
   * no round trip: the user's seats record, read and written with
   * compare-and-set, holds every removal and block of the user, and the
   * room's count its close, so a record the watch has not brought yet cannot
   * admit anyone these refuse. Whatever else the watched records decide (a
   * refusal other than a full room, or the waiting room, whose entry would
   * give up a seat an approval just reserved) is decided again on fresh
   * reads.
   */
  admit(token: string | undefined, connection: ConnectionIdentity): Promise<ConnectionAdmitted>;
}

export function createConnectionAdmission(options: ConnectionAdmissionOptions): ConnectionAdmission {
  const { store, participants, kicker, timings } = options;
  const now = options.now ?? Date.now;
  const { ledger } = options;
  const admitOnce = async (
    token: string | undefined,
    connection: ConnectionIdentity,
    watched: boolean,
  ): Promise<ConnectionAdmitted> => {
    const admission = await participants.admit(token, { watched });
    const { room, user, claims } = admission;
    const waiting = user.waitingForApproval;
    if (watched && waiting) throw new ReadAgain();
    const key = userKey(room.roomId, claims.sub);
    const request = {
      sid: room.sid,
      issuedAt: user.issuedAt,
      cid: connection.cid,
      serverId: connection.serverId,
      now: now(),
    };
    // The close is on the room's count: a room with a limit checks it again as the seat is counted.
    assertRoomOpen(store.watched.roomSeats.latest(room.roomId)?.value, room.sid);
    let replaced: Seat[] = [];
    if (waiting) {
      let freed: UserSeat | undefined;
      await store.modify(store.seats, key, (current) => {
        const entered = enterWaitingRoom(current?.value, request);
        [replaced, freed] = [entered.replaced, entered.freed];
        return entered.record;
      });
      await ledger.giveBack(room.roomId, room.sid, freed);
    } else {
      let before: UserSeatsRecord = { sid: room.sid };
      let reservation: ReturnType<typeof reserveSeat> | undefined;
      await store.modify(store.seats, key, (current) => {
        before = userSeatsOf(current?.value, room.sid);
        reservation = reserveSeat(current?.value, { ...request, epoch: ledger.epoch(room) }, timings);
        return reservation.record;
      });
      const { record, replaced: previous, uncounted } = reservation!;
      if (uncounted) {
        try {
          await ledger.take(room);
        } catch (err) {
          await ledger.putBack(room, claims.sub, record.seat!, before);
          throw err;
        }
      }
      replaced = previous ? [previous] : [];
    }
    // A room without a limit has its close checked on the watched count only: once more, now that the seat is written.
    assertRoomOpen(store.watched.roomSeats.latest(room.roomId)?.value, room.sid);
    // The older connection of the same user goes; its disconnect event no longer matches the seat.
    for (const seat of replaced) void kicker.kick(seat);
    return { ...admission, waiting };
  };
  const admit = async (token: string | undefined, connection: ConnectionIdentity): Promise<ConnectionAdmitted> => {
    try {
      return await admitOnce(token, connection, true);
    } catch (err) {
      const reason = failureInfo(err).reason;
      if (!(err instanceof ReadAgain) && (reason === FailureReason.ROOM_FULL || reason === FailureReason.INTERNAL))
        throw err;
      return admitOnce(token, connection, false);
    }
  };
  return {
    async admit(token, connection) {
      try {
        const admitted = await admit(token, connection);
        options.metrics?.admissions.inc({ outcome: admitted.waiting ? "waiting_room" : "room", reason: "" });
        return admitted;
      } catch (err) {
        options.metrics?.admissions.inc({ outcome: "refused", reason: FailureReason[failureInfo(err).reason] });
        throw err;
      }
    },
  };
}

/** A decision on the watched records that must be made on fresh reads (see ConnectionAdmission.admit). */
class ReadAgain extends Error {
  override readonly name = "ReadAgain";
}
