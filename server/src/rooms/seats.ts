import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import type { Seat, SeatsRecord } from "../store/records.js";

/** How long a seat is held for a connection that is not (yet, or any more) connected. */
export interface SeatTimings {
  /** How long an admitted connection may take to show up as connected. */
  pendingMs: number;
  /** How long a disconnected user keeps the seat, so a reconnect finds it. */
  offlineAfterMs: number;
}

/** The seats of a room nobody has joined. */
export const emptySeats = (): SeatsRecord => ({ holders: {}, revoked: {}, closed: false });

/** A seat counts while its connection is live, or may still become or be live again (a reservation: as long as a pending one). */
export function isSeatLive(seat: Seat, now: number, timings: SeatTimings): boolean {
  if (seat.state === "connected") return true;
  return now - seat.at < (seat.state === "disconnected" ? timings.offlineAfterMs : timings.pendingMs);
}

/** The seats that still count against the room's limit (see isSeatLive). */
export function liveHolders(record: SeatsRecord, now: number, timings: SeatTimings): Record<string, Seat> {
  return Object.fromEntries(Object.entries(record.holders).filter(([, seat]) => isSeatLive(seat, now, timings)));
}

/** A new connection asking for a user's seat. */
export interface SeatRequest {
  /** The user the connection is for. */
  userId: string;
  /** Unix ms at which the user's current join token was issued. */
  issuedAt: number;
  /** The connection's client ID on its nats-server. */
  cid: number;
  /** The nats-server the connection is on. */
  serverId: string;
  /** 0 means unlimited. */
  limit: number;
  /** Unix ms now. */
  now: number;
}

/** A seat taken: the record to write, and the connection it displaces. */
export interface Reservation {
  /** The room's seats with the new connection's seat, pending. */
  record: SeatsRecord;
  /** The user's previous connection, which the new one replaces. */
  replaced?: Seat;
}

/**
 * Takes a seat for a new connection, or throws the refusal. A user who holds
 * a seat already keeps it and the older connection is returned for eviction,
 * so duplicates never count twice against the limit.
 */
export function reserveSeat(current: SeatsRecord, request: SeatRequest, timings: SeatTimings): Reservation {
  assertMayConnect(current, request.userId, request.issuedAt);
  const holders = liveHolders(current, request.now, timings);
  const previous = holders[request.userId];
  if (!previous && request.limit > 0 && Object.keys(holders).length >= request.limit) {
    throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
  }
  holders[request.userId] = { cid: request.cid, serverId: request.serverId, state: "pending", at: request.now };
  // An approved user's connection from the waiting room has been kicked already, or is about to be.
  const { [request.userId]: waited, ...waiting } = current.waiting ?? {};
  return {
    record: { ...current, holders, ...(waited ? { waiting } : {}) },
    replaced: isOtherConnection(previous, request) ? previous : undefined,
  };
}

/** The refusals every connection of a user meets, seated or waiting: room closed, user blocked, or removed since its token. */
function assertMayConnect(current: SeatsRecord, userId: string, issuedAt: number): void {
  if (current.closed) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
  const revokedAt = current.revoked[userId];
  if (revokedAt === 0) throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
  if (revokedAt !== undefined && revokedAt >= issuedAt) {
    throw pnmError(FailureReason.USER_NOT_FOUND, "user was removed from this room; a new join token is needed");
  }
}

/** A live connection other than the one asking: a reservation and a dropped connection are none. */
function isOtherConnection(seat: Seat | undefined, request: { cid: number; serverId: string }): seat is Seat {
  return (
    seat !== undefined &&
    (seat.state === "pending" || seat.state === "connected") &&
    (seat.cid !== request.cid || seat.serverId !== request.serverId)
  );
}

/** A new connection of a user the waiting room holds. */
export type WaitingRequest = Omit<SeatRequest, "limit">;

/**
 * Records the connection of a user the waiting room holds: it takes no seat,
 * whatever the limit, and is refused as any connection is (room closed, user
 * blocked or removed since its token). An older connection of the user,
 * waiting or seated, is returned for eviction, and a seat it held is given up.
 */
export function enterWaitingRoom(
  current: SeatsRecord,
  request: WaitingRequest,
): { record: SeatsRecord; replaced: Seat[] } {
  assertMayConnect(current, request.userId, request.issuedAt);
  const { [request.userId]: seated, ...holders } = current.holders;
  const waiting = { ...current.waiting };
  const previous = waiting[request.userId];
  waiting[request.userId] = { cid: request.cid, serverId: request.serverId, state: "pending", at: request.now };
  return {
    record: { ...current, holders, waiting },
    replaced: [previous, seated].filter((seat): seat is Seat => isOtherConnection(seat, request)),
  };
}

/** A moderator's approval of a waiting user. */
export interface ApprovalRequest {
  /** The approved user. */
  userId: string;
  /** Unix ms at which the user's current join token was issued. */
  issuedAt: number;
  /** 0 means unlimited. */
  limit: number;
  /** Unix ms now. */
  now: number;
}

/**
 * Approval takes a seat for the user, or throws ROOM_FULL when every seat is
 * live (and the refusals of a connect). The seat is reserved for the
 * connection the user opens next, as long as a pending one is held, so that
 * nobody else takes it meanwhile; the user's waiting-room connection, to be
 * closed so that it reconnects, is returned.
 */
export function admitFromWaitingRoom(
  current: SeatsRecord,
  request: ApprovalRequest,
  timings: SeatTimings,
): { record: SeatsRecord; waiting?: Seat } {
  assertMayConnect(current, request.userId, request.issuedAt);
  const holders = liveHolders(current, request.now, timings);
  if (!holders[request.userId] && request.limit > 0 && Object.keys(holders).length >= request.limit) {
    throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
  }
  // A reservation is no connection: nothing matches its cid, and admission does not evict it.
  holders[request.userId] = { cid: -1, serverId: "", state: "reserved", at: request.now };
  const { [request.userId]: waited, ...waiting } = current.waiting ?? {};
  return { record: { ...current, holders, waiting }, waiting: waited };
}

/** Forgets a waiting user's connection once it is gone; another connection's events change nothing. */
export function leaveWaitingRoom(
  current: SeatsRecord,
  userId: string,
  cid: number,
  serverId: string,
): SeatsRecord | undefined {
  const seat = current.waiting?.[userId];
  if (!seat || seat.cid !== cid || seat.serverId !== serverId) return undefined;
  const { [userId]: _gone, ...waiting } = current.waiting!;
  return { ...current, waiting };
}

/**
 * Takes a user's connections out of the room, seated and waiting, and revokes
 * its tokens issued up to `revokedAt` (0: blocked for good). Returns the
 * connections to close.
 */
export function evictUser(
  current: SeatsRecord,
  userId: string,
  revokedAt: number,
): { record: SeatsRecord; evicted: Seat[] } {
  const { [userId]: seated, ...holders } = current.holders;
  const { [userId]: waited, ...waiting } = current.waiting ?? {};
  const previous = current.revoked[userId];
  // A block stays a block; a later removal time only widens the revocation.
  const revoked = previous === 0 || revokedAt === 0 ? 0 : Math.max(previous ?? 0, revokedAt);
  return {
    record: { ...current, holders, waiting, revoked: { ...current.revoked, [userId]: revoked } },
    evicted: [seated, waited].filter((seat): seat is Seat => seat !== undefined && seat.state !== "reserved"),
  };
}

/** Moves the seat of this exact connection to a new state; a replaced connection's events change nothing. */
export function updateSeat(
  current: SeatsRecord,
  userId: string,
  cid: number,
  serverId: string,
  state: Seat["state"],
  now: number,
): SeatsRecord | undefined {
  const seat = current.holders[userId];
  if (!seat || seat.state === "reserved" || seat.cid !== cid || seat.serverId !== serverId || seat.state === state)
    return undefined;
  return { ...current, holders: { ...current.holders, [userId]: { ...seat, state, at: now } } };
}
