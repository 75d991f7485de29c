import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";

/** Every error a participant session reports carries the contract's reason. */
export class SessionError extends Error {
  /** The contract's reason, as the server gave it; UNSPECIFIED for failures on this side, such as a lost connection. */
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SessionError";
    this.reason = reason;
  }
}

/** The server refused to admit the participant (VerifyToken or the NATS connect). */
export class JoinRefusedError extends SessionError {
  override name = "JoinRefusedError";
}

/** The access token expired and could not be renewed. */
export class TokenExpiredError extends SessionError {
  override name = "TokenExpiredError";
}

/** Renewal was refused for another reason than expiry. */
export class TokenRenewalError extends SessionError {
  override name = "TokenRenewalError";
}

/** The server removed the participant from the room; also any other end of the session without a class of its own. */
export class RemovedError extends SessionError {
  override name = "RemovedError";
}

/** The server removed the participant from the room and blocked it from joining again (USER_BLOCKED). */
export class BlockedError extends SessionError {
  override name = "BlockedError";
}

/** The room was ended for everyone in it (ROOM_ENDED). */
export class RoomEndedError extends SessionError {
  override name = "RoomEndedError";
}

/**
 * A moderator turned the participant away from the waiting room (USER_DENIED):
 * `joinSession` rejects with it, or the session ends with it.
 */
export class DeniedError extends SessionError {
  override name = "DeniedError";
}

/**
 * The session reached its maximum age (SESSION_EXPIRED): the server renews no
 * token past it, and the session ends when its last token expires. A new join
 * token starts a new session.
 */
export class SessionExpiredError extends SessionError {
  override name = "SessionExpiredError";
}

/** Why a session ended, as the server's SESSION_ENDED names it. */
export function sessionEndedError(reason: FailureReason, message: string): SessionError {
  switch (reason) {
    case FailureReason.USER_BLOCKED:
      return new BlockedError(reason, message);
    case FailureReason.ROOM_ENDED:
      return new RoomEndedError(reason, message);
    case FailureReason.USER_DENIED:
      return new DeniedError(reason, message);
    default:
      return new RemovedError(reason, message);
  }
}
