import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import type { ParticipantService } from "./participant-service.js";

export interface TokenRenewalOptions {
  tokens: AccessTokenCodec;
  participants: ParticipantService;
  tokenValidityMs: number;
  /** How long after expiry a token may still be renewed. */
  graceMs: number;
  now?: () => number;
}

export interface TokenRenewal {
  /**
   * A fresh token for the connection's own identity. The old token must name
   * the same room and user as the NATS subject it arrived on, the user must
   * still be admitted, and the new claims are read from current state, so a
   * role change or a removal reaches the token.
   */
  renew(token: string, connection: { roomId: string; userId: string }): Promise<string>;
}

export function createTokenRenewal(options: TokenRenewalOptions): TokenRenewal {
  const now = options.now ?? Date.now;
  return {
    async renew(token, connection) {
      const claims = options.tokens.verify(token, { graceMs: options.graceMs, nowMs: now() });
      if (claims.room_id !== connection.roomId || claims.sub !== connection.userId) {
        throw pnmError(FailureReason.TOKEN_CLAIMS_INVALID, "token belongs to another room or user than this connection");
      }
      const { room, user } = await options.participants.admitClaims(claims);
      if (user.waitingForApproval) throw pnmError(FailureReason.USER_WAITING_FOR_APPROVAL, "user is waiting for approval");
      return options.tokens.mint(
        {
          userId: user.userId,
          name: user.name,
          roomId: room.roomId,
          roomSid: room.sid,
          isAdmin: user.isAdmin,
          isHidden: user.isHidden,
          clientType: user.clientType,
          generation: user.generation,
        },
        options.tokenValidityMs,
        now(),
      ).token;
    },
  };
}
