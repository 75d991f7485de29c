/** State kept in NATS KV. Plain JSON: it is internal, not part of the contract. */

export type RoomStatus = "created" | "active" | "ended";

export interface RoomRecord {
  roomId: string;
  sid: string;
  status: RoomStatus;
  /** Unix seconds. */
  createdAt: number;
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

export type UserStatus = "added" | "online" | "disconnected" | "offline";

export interface UserRecord {
  userId: string;
  name: string;
  roomSid: string;
  isAdmin: boolean;
  isHidden: boolean;
  clientType: number;
  status: UserStatus;
  waitingForApproval: boolean;
  /** UserMetadata as protojson. */
  metadataJson: string;
  /** Unix ms of the latest join token. */
  issuedAt: number;
  /**
   * Raised by every removal; access tokens carry the generation they were
   * issued under, so a removed user's older tokens stay refused even after
   * the user is invited again.
   */
  generation: number;
  /** Set by a removal, cleared by the next join token. */
  removedAt?: number;
}

export interface BlockRecord {
  blockedAt: number;
}

export type SeatState = "pending" | "connected" | "disconnected";

/** One NATS connection holding a user's seat. */
export interface Seat {
  /** The connection's client id on its nats-server. */
  cid: number;
  serverId: string;
  state: SeatState;
  /** Unix ms of the last state change. */
  at: number;
}

/**
 * Who holds a seat in a room: the one record that admission, duplicate
 * connections and removal change, always with compare-and-set.
 */
export interface SeatsRecord {
  /** user id → the connection holding the seat. */
  holders: Record<string, Seat>;
  /** user id → unix ms of removal; a token issued before it is refused. 0 means blocked for good. */
  revoked: Record<string, number>;
  /** Set when the room ends: nobody is admitted again. */
  closed: boolean;
}

export function isRoomActive(room: RoomRecord | undefined): room is RoomRecord {
  return room !== undefined && (room.status === "created" || room.status === "active");
}
