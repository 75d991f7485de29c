import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";
import type { Seat, SeatsRecord } from "../store/records.js";

export interface SeatTimings {
  /** How long an admitted connection may take to show up as connected. */
  pendingMs: number;
  /** How long a disconnected user keeps the seat, so a reconnect finds it. */
  offlineAfterMs: number;
}

export const emptySeats = (): SeatsRecord => ({ holders: {}, revoked: {}, closed: false });

/** A seat counts while its connection is live, or may still become or be live again. */
export function isSeatLive(seat: Seat, now: number, timings: SeatTimings): boolean {
  if (seat.state === "connected") return true;
  return now - seat.at < (seat.state === "pending" ? timings.pendingMs : timings.offlineAfterMs);
}

export function liveHolders(record: SeatsRecord, now: number, timings: SeatTimings): Record<string, Seat> {
  return Object.fromEntries(Object.entries(record.holders).filter(([, seat]) => isSeatLive(seat, now, timings)));
}

export interface SeatRequest {
  userId: string;
  /** Unix ms at which the user's current join token was issued. */
  issuedAt: number;
  cid: number;
  serverId: string;
  /** 0 means unlimited. */
  limit: number;
  now: number;
}

export interface Reservation {
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
  if (current.closed) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
  const revokedAt = current.revoked[request.userId];
  if (revokedAt === 0) throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
  if (revokedAt !== undefined && revokedAt >= request.issuedAt) {
    throw pnmError(FailureReason.USER_NOT_FOUND, "user was removed from this room; a new join token is needed");
  }
  const holders = liveHolders(current, request.now, timings);
  const previous = holders[request.userId];
  if (!previous && request.limit > 0 && Object.keys(holders).length >= request.limit) {
    throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
  }
  holders[request.userId] = { cid: request.cid, serverId: request.serverId, state: "pending", at: request.now };
  return {
    record: { ...current, holders },
    replaced:
      previous && previous.state !== "disconnected" && (previous.cid !== request.cid || previous.serverId !== request.serverId) ? previous : undefined,
  };
}

/** Moves the seat of this exact connection to a new state; a replaced connection's events change nothing. */
export function updateSeat(current: SeatsRecord, userId: string, cid: number, serverId: string, state: Seat["state"], now: number): SeatsRecord | undefined {
  const seat = current.holders[userId];
  if (!seat || seat.cid !== cid || seat.serverId !== serverId || seat.state === state) return undefined;
  return { ...current, holders: { ...current.holders, [userId]: { ...seat, state, at: now } } };
}
