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
}

export interface BlockRecord {
  blockedAt: number;
}

/** Who holds a seat in a room: the only record the participant limit is checked on. */
export interface SeatsRecord {
  /** user id → unix ms at which the seat was taken. */
  holders: Record<string, number>;
}

export function isRoomActive(room: RoomRecord | undefined): room is RoomRecord {
  return room !== undefined && (room.status === "created" || room.status === "active");
}
