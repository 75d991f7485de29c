import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { AccessTokenClaims, AccessTokenInput } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import type { RoomRecord, UserRecord } from "../store/records.js";

/** A user of an active room who passed the room and user checks. */
export interface Membership {
  /** The room, active. */
  room: RoomRecord;
  /** The user, issued a token for this instance of the room, neither blocked nor removed. */
  user: UserRecord;
}

/** A membership proven by an access token. */
export interface Admission extends Membership {
  /** The verified claims of that token. */
  claims: AccessTokenClaims;
}

/**
 * Refuses a user the waiting room holds: until a moderator approves it, it
 * gets no initial data (so no room key) and no media token, and its NATS
 * connection has the waiting room's permissions only.
 */
export function assertApproved(user: UserRecord): void {
  if (user.waitingForApproval) throw pnmError(FailureReason.USER_WAITING_FOR_APPROVAL, "user is waiting for approval");
}

/**
 * What a member's access token says, read from the stored records rather
 * than from an older token, so that a role change or a removal reaches the
 * next token; only the session's start (Unix seconds) comes from the session.
 */
export function accessTokenInput({ room, user }: Membership, sessionStart: number): AccessTokenInput {
  return {
    sessionStart,
    userId: user.userId,
    name: user.name,
    roomId: room.roomId,
    roomSid: room.sid,
    isAdmin: user.isAdmin,
    isHidden: user.isHidden,
    clientType: user.clientType,
    generation: user.generation,
  };
}
