import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import type { RoomSeatsRecord, Seat, UserSeat, UserSeatsRecord } from "../store/records.js";

/** How long a seat is held for a connection that is not (yet, or any more) connected. */
export interface SeatTimings {
  /** How long an admitted connection may take to show up as connected. */
  pendingMs: number;
  /** How long a disconnected user keeps the seat, so a reconnect finds it. */
  offlineAfterMs: number;
}

/** The count of a room instance nobody has joined. */
export const emptyRoomSeats = (sid: string): RoomSeatsRecord => ({ sid, closed: false, taken: 0, epoch: 0 });

/** The user's record in room instance `sid`: one of an earlier instance counts as none. */
export const userSeatsOf = (current: UserSeatsRecord | undefined, sid: string): UserSeatsRecord =>
  current?.sid === sid ? current : { sid };

/** A seat counts while its connection is live, or may still become or be live again (a reservation: as long as a pending one). */
export function isSeatLive(seat: Seat, now: number, timings: SeatTimings): boolean {
  if (seat.state === "connected") return true;
  return now - seat.at < (seat.state === "disconnected" ? timings.offlineAfterMs : timings.pendingMs);
}

/** A new connection asking for a user's seat. */
export interface SeatRequest {
  /** The room instance. */
  sid: string;
  /** Unix ms at which the user's current join token was issued. */
  issuedAt: number;
  /** The connection's client ID on its nats-server. */
  cid: number;
  /** The nats-server the connection is on. */
  serverId: string;
  /** The epoch of the room's count to count a new seat under; undefined when the room has no limit. */
  epoch: number | undefined;
  /** Unix ms now. */
  now: number;
}

/** A seat taken in the user's record: the record to write, and what the caller does next. */
export interface Reservation {
  /** The user's record with the new connection's seat, pending. */
  record: UserSeatsRecord;
  /** The user's previous connection, which the new one replaces. */
  replaced?: Seat;
  /** The seat must still be added to the room's count (takeSeat); when that fails, the record is put back (see restore). */
  uncounted: boolean;
}

/**
 * Takes the user's seat for a new connection, or throws the refusal. A user
 * who holds a live seat already keeps its place in the count and the older
 * connection is returned for eviction, so duplicates never count twice. A
 * pending seat's count may still fail, so a new seat is counted anew then:
 * at worst one seat too many is counted, never one too few.
 */
export function reserveSeat(
  current: UserSeatsRecord | undefined,
  request: SeatRequest,
  timings: SeatTimings,
): Reservation {
  const entry = userSeatsOf(current, request.sid);
  assertMayConnect(entry, request.issuedAt);
  const previous = entry.seat && isSeatLive(entry.seat, request.now, timings) ? entry.seat : undefined;
  // A pending seat's count may still fail; a seat not counted under a limit has nothing to keep.
  const keepsCount =
    previous !== undefined &&
    previous.state !== "pending" &&
    (request.epoch === undefined || previous.counted !== undefined);
  const counted = keepsCount ? previous.counted : request.epoch;
  const seat: UserSeat = { cid: request.cid, serverId: request.serverId, state: "pending", at: request.now };
  // An approved user's connection from the waiting room has been kicked already, or is about to be.
  const { waiting: _waited, ...rest } = entry;
  return {
    record: { ...rest, seat: counted === undefined ? seat : { ...seat, counted } },
    replaced: isOtherConnection(previous, request) ? previous : undefined,
    uncounted: request.epoch !== undefined && !keepsCount,
  };
}

/** The refusals every connection of a user meets, seated or waiting: blocked, or removed since its token. */
function assertMayConnect(entry: UserSeatsRecord, issuedAt: number): void {
  if (entry.revokedAt === 0) throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
  if (entry.revokedAt !== undefined && entry.revokedAt >= issuedAt) {
    throw pnmError(FailureReason.USER_NOT_FOUND, "user was removed from this room; a new join token is needed");
  }
}

/** Refuses every admission to a room whose count says it ended. */
export function assertRoomOpen(count: RoomSeatsRecord | undefined, sid: string): void {
  if (count?.sid === sid && count.closed) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
}

/** A live connection other than the one asking: a reservation and a dropped connection are none. */
function isOtherConnection(seat: Seat | undefined, request: { cid: number; serverId: string }): seat is Seat {
  return (
    seat !== undefined &&
    (seat.state === "pending" || seat.state === "connected") &&
    (seat.cid !== request.cid || seat.serverId !== request.serverId)
  );
}

/** Whether `seat` is the seat of this exact connection. */
const isConnection = (seat: Seat | undefined, cid: number, serverId: string): seat is Seat =>
  seat !== undefined && seat.cid === cid && seat.serverId === serverId;

/**
 * Puts back what a reservation replaced, when its count failed: only while
 * the record still holds that reservation (`seat`), whoever wrote since.
 */
export function restore(
  current: UserSeatsRecord | undefined,
  seat: Seat,
  before: UserSeatsRecord,
): UserSeatsRecord | undefined {
  const held = current?.seat;
  if (!current || current.sid !== before.sid || !isConnection(held, seat.cid, seat.serverId) || held.at !== seat.at)
    return undefined;
  return { ...current, seat: before.seat, waiting: current.waiting ?? before.waiting };
}

/** A new connection of a user the waiting room holds. */
export type WaitingRequest = Omit<SeatRequest, "epoch">;

/**
 * Records the connection of a user the waiting room holds: it takes no seat,
 * whatever the limit, and is refused as any connection is (user blocked or
 * removed since its token). An older connection of the user, waiting or
 * seated, is returned for eviction, and a seat it held is given up (`freed`).
 */
export function enterWaitingRoom(
  current: UserSeatsRecord | undefined,
  request: WaitingRequest,
): { record: UserSeatsRecord; replaced: Seat[]; freed?: UserSeat } {
  const entry = userSeatsOf(current, request.sid);
  assertMayConnect(entry, request.issuedAt);
  const { seat: seated, waiting: previous, ...rest } = entry;
  return {
    record: { ...rest, waiting: { cid: request.cid, serverId: request.serverId, state: "pending", at: request.now } },
    replaced: [previous, seated].filter((seat): seat is Seat => isOtherConnection(seat, request)),
    freed: seated,
  };
}

/** A moderator's approval of a waiting user. */
export interface ApprovalRequest {
  /** The room instance. */
  sid: string;
  /** Unix ms at which the user's current join token was issued. */
  issuedAt: number;
  /** The epoch of the room's count to count the seat under; undefined when the room has no limit. */
  epoch: number | undefined;
  /** Unix ms now. */
  now: number;
}

/**
 * Approval reserves a seat for the connection the user opens next, as long
 * as a pending one is held, so that nobody else takes it meanwhile; the
 * user's waiting-room connection, to be closed so that it reconnects, is
 * returned. A user seated already keeps its seat.
 */
export function admitFromWaitingRoom(
  current: UserSeatsRecord | undefined,
  request: ApprovalRequest,
  timings: SeatTimings,
): Reservation & { waiting?: Seat } {
  const entry = userSeatsOf(current, request.sid);
  assertMayConnect(entry, request.issuedAt);
  const { waiting, ...rest } = entry;
  if (entry.seat && isSeatLive(entry.seat, request.now, timings)) return { record: rest, waiting, uncounted: false };
  // A reservation is no connection: nothing matches its cid, and admission does not evict it.
  const seat: UserSeat = { cid: -1, serverId: "", state: "reserved", at: request.now };
  return {
    record: { ...rest, seat: request.epoch === undefined ? seat : { ...seat, counted: request.epoch } },
    waiting,
    uncounted: request.epoch !== undefined,
  };
}

/** Forgets a waiting user's connection once it is gone; another connection's events change nothing. */
export function leaveWaitingRoom(current: UserSeatsRecord, cid: number, serverId: string): UserSeatsRecord | undefined {
  if (!isConnection(current.waiting, cid, serverId)) return undefined;
  const { waiting: _gone, ...rest } = current;
  return rest;
}

/**
 * Takes a user's connections out of the room, seated and waiting, and revokes
 * its tokens issued up to `revokedAt` (0: blocked for good). Returns the
 * connections to close and the seat given up.
 */
export function evictUser(
  current: UserSeatsRecord | undefined,
  sid: string,
  revokedAt: number,
): { record: UserSeatsRecord; evicted: Seat[]; freed?: UserSeat } {
  const { seat, waiting, revokedAt: previous, ...rest } = userSeatsOf(current, sid);
  // A block stays a block; a later removal time only widens the revocation.
  const revoked = previous === 0 || revokedAt === 0 ? 0 : Math.max(previous ?? 0, revokedAt);
  return {
    record: { ...rest, revokedAt: revoked },
    evicted: [seat, waiting].filter((s): s is Seat => s !== undefined && s.state !== "reserved"),
    freed: seat,
  };
}

/**
 * Moves the seat of this exact connection to a new state; a replaced
 * connection's events change nothing, and neither does a seat no longer live
 * (it may have been counted out already).
 */
export function updateSeat(
  current: UserSeatsRecord,
  cid: number,
  serverId: string,
  state: Seat["state"],
  now: number,
  timings: SeatTimings,
): UserSeatsRecord | undefined {
  const seat = current.seat;
  if (!isConnection(seat, cid, serverId) || seat.state === "reserved" || seat.state === state) return undefined;
  if (!isSeatLive(seat, now, timings)) return undefined;
  return { ...current, seat: { ...seat, state, at: now } };
}

/** Gives up the seat of this exact connection once it has been offline long enough; undefined when it is not that. */
export function freeOfflineSeat(
  current: UserSeatsRecord,
  cid: number,
  serverId: string,
): { record: UserSeatsRecord; freed: UserSeat } | undefined {
  const { seat, ...rest } = current;
  if (!isConnection(seat, cid, serverId) || seat.state !== "disconnected") return undefined;
  return { record: rest, freed: seat };
}
