import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import { accessTokenInput } from "../rooms/membership.js";
import type { ParticipantService } from "./participant-service.js";

/** How renewal verifies old tokens and mints new ones. */
export interface TokenRenewalOptions {
  /** Verifies the old token and mints the new one. */
  tokens: AccessTokenCodec;
  /** Checks that the user is still admitted. */
  participants: ParticipantService;
  /** How long a renewed token is valid, in ms. */
  tokenValidityMs: number;
  /** How long after expiry a token may still be renewed. */
  graceMs: number;
  /** How long a session lasts at most, from its start (the tokens' `auth_time`), in ms. */
  maxSessionMs: number;
  /** The clock, in Unix ms; default Date.now. */
  now?: () => number;
}

/** A renewal's outcome: the new token, and when the session it belongs to ends. */
export interface RenewedToken {
  /** The new access token; it expires at `sessionExpiresAt` at the latest. */
  token: string;
  /** The session's end, in Unix seconds: its start plus the maximum session age. */
  sessionExpiresAt: number;
}

/** Trades a participant's access token for a fresh one over NATS. */
export interface TokenRenewal {
  /**
   * A fresh token for the connection's own identity. The old token must name
   * the same room and user as the NATS subject it arrived on, the user must
   * still be admitted, and the new claims are read from current state, so a
   * role change or a removal reaches the token. The session's start is copied
   * from the old token, and no token outlives the session: once the current
   * one reaches its end, renewal is refused with SESSION_EXPIRED.
   */
  renew(token: string, connection: { roomId: string; userId: string }): Promise<RenewedToken>;
}

/**
 * The token renewal of one server. A user the waiting room holds may renew
 * too: its token admits it to the waiting room only, and a long wait must not
 * outlive it.
 */
export function createTokenRenewal(options: TokenRenewalOptions): TokenRenewal {
  const now = options.now ?? Date.now;
  return {
    async renew(token, connection) {
      const nowMs = now();
      const claims = options.tokens.verify(token, { graceMs: options.graceMs, nowMs });
      if (claims.room_id !== connection.roomId || claims.sub !== connection.userId) {
        throw pnmError(
          FailureReason.TOKEN_CLAIMS_INVALID,
          "token belongs to another room or user than this connection",
        );
      }
      const member = await options.participants.admitClaims(claims);
      // A token minted before sessions had a start counts its session from its own nbf.
      const sessionStart = claims.auth_time ?? claims.nbf;
      const sessionExpiresAt = sessionStart + Math.floor(options.maxSessionMs / 1000);
      const nowSeconds = Math.floor(nowMs / 1000);
      if (nowSeconds >= sessionExpiresAt || claims.exp >= sessionExpiresAt) {
        throw pnmError(
          FailureReason.SESSION_EXPIRED,
          `the session reaches its maximum age at ${new Date(sessionExpiresAt * 1000).toISOString()}; no token is renewed past it, and a new join token starts a new session`,
        );
      }
      const validityMs = Math.min(options.tokenValidityMs, (sessionExpiresAt - nowSeconds) * 1000);
      const { token: renewed } = options.tokens.mint(accessTokenInput(member, sessionStart), validityMs, nowMs);
      return { token: renewed, sessionExpiresAt };
    },
  };
}
