/** State kept in NATS KV. Plain JSON: it is internal, not part of the contract. */

/** `created` by CreateRoom, `ended` by EndRoom; `created` and `active` both count as active (isRoomActive). */
export type RoomStatus = "created" | "active" | "ended";

/** A room as CreateRoom made it: one record per room ID, replaced when the room is created again after it ended. */
export interface RoomRecord {
  /** The caller's room ID, stable across instances of the room. */
  roomId: string;
  /** The SID of this instance of the room: a room created again under the same ID gets a new one. */
  sid: string;
  /** Where the room is in its life. */
  status: RoomStatus;
  /** Unix seconds. */
  createdAt: number;
  /** How long the room may stay empty before it ends, in seconds. */
  emptyTimeoutSeconds: number;
  /** 0 means unlimited. */
  maxParticipants: number;
  /** RoomMetadata as protojson, without the E2EE key. */
  metadataJson: string;
  /** Kept apart from the metadata so no copy of the metadata can carry it by accident. */
  e2eeKey?: string;
  /** Digest of the create request, to tell an idempotent re-create from a conflicting one. */
  requestDigest: string;
}

/** A user of a room, written by GetJoinToken and updated by presence and removal. */
export interface UserRecord {
  /** The caller's user ID. */
  userId: string;
  /** Display name. */
  name: string;
  /** The room instance the user's join token was issued for. */
  roomSid: string;
  /** Whether the user is a room admin (moderator). */
  isAdmin: boolean;
  /** Whether other participants do not see the user. */
  isHidden: boolean;
  /** Upstream's client type number (0 WEB, 1 HYBRID_WEB). */
  clientType: number;
  /** True while the waiting room holds the user for a moderator's approval. */
  waitingForApproval: boolean;
  /** UserMetadata as protojson. */
  metadataJson: string;
  /** Unix ms of the latest join token. */
  issuedAt: number;
  /**
   * Raised by every removal, denial by the waiting room and demotion (a join
   * token with less privilege than the one before); access tokens carry the
   * generation they were issued under, so a removed user's older tokens stay
   * refused even after the user is invited again.
   */
  generation: number;
  /** What raised the generation last, so that older tokens are refused with the matching reason. */
  revocation?: Revocation;
  /** Set by a removal or denial, cleared by the next join token. */
  removedAt?: number;
}

/**
 * Why a user's older tokens were revoked: removed, denied entry by the waiting
 * room, or demoted by a join token with less privilege.
 */
export type Revocation = "removal" | "denial" | "demotion";

/** A user blocked from a room for good. */
export interface BlockRecord {
  /** Unix ms of the block. */
  blockedAt: number;
}

/**
 * A seat's connection: admitted but not yet connected, connected, or gone (the
 * seat is kept a while); or `reserved` by an approval for the user's next
 * connection, which no connection holds yet (its cid and serverId mean nothing).
 */
export type SeatState = "pending" | "connected" | "disconnected" | "reserved";

/** One NATS connection holding a user's seat. */
export interface Seat {
  /** The connection's client id on its nats-server. */
  cid: number;
  /** The nats-server the connection is on. */
  serverId: string;
  /** Where the connection is. */
  state: SeatState;
  /** Unix ms of the last state change. */
  at: number;
}

/** A seat as its user's seats record keeps it. */
export interface UserSeat extends Seat {
  /**
   * The epoch of the room's count (RoomSeatsRecord) this seat was counted
   * under; absent when it was not counted (a room without a limit). Giving
   * the seat up subtracts it only under that same epoch.
   */
  counted?: number;
}

/**
 * One user's place in one room (key `<roomId>.<userId>`): its seat, its
 * waiting-room connection and its revocation, together so that admission,
 * duplicates, approval and removal of that user change one record with
 * compare-and-set. Its size does not depend on the room's.
 */
export interface UserSeatsRecord {
  /** The room instance the record belongs to: a record of an earlier instance of the room counts as none. */
  sid: string;
  /** The connection holding the user's seat. */
  seat?: UserSeat;
  /**
   * The connection of a user the waiting room holds, which has the waiting
   * room's permissions and no seat; approval turns it into a seat.
   */
  waiting?: Seat;
  /** Unix ms of removal; a token issued before it is refused. 0 means blocked for good. */
  revokedAt?: number;
}

/**
 * A room's count of seats (key `<roomId>`), changed with compare-and-set by
 * every admission that takes a seat in a room with a limit and by every seat
 * given up, so that the limit holds across instances.
 */
export interface RoomSeatsRecord {
  /** The room instance counted: a record of an earlier instance counts as none. */
  sid: string;
  /** Set when the room ends: nobody is admitted again. */
  closed: boolean;
  /** Seats counted against the limit: never fewer than the live seats admitted, possibly more (see epoch). */
  taken: number;
  /**
   * Raised by a recount, which sets `taken` to the live seats found: seats
   * counted under an earlier epoch were counted again by it and are not
   * subtracted when given up, so a recount never undercounts.
   */
  epoch: number;
}

/** Whether a room exists and has not ended. */
export function isRoomActive(room: RoomRecord | undefined): room is RoomRecord {
  return room !== undefined && (room.status === "created" || room.status === "active");
}
