import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";

/** Every error a participant session reports carries the contract's reason. */
export class SessionError extends Error {
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

export class RemovedError extends SessionError {
  override name = "RemovedError";
}

export class BlockedError extends SessionError {
  override name = "BlockedError";
}

export class RoomEndedError extends SessionError {
  override name = "RoomEndedError";
}

/** Why a session ended, as the server's SESSION_ENDED names it. */
export function sessionEndedError(reason: FailureReason, message: string): SessionError {
  switch (reason) {
    case FailureReason.USER_BLOCKED:
      return new BlockedError(reason, message);
    case FailureReason.ROOM_ENDED:
      return new RoomEndedError(reason, message);
    default:
      return new RemovedError(reason, message);
  }
}
