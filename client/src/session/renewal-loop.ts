import { fromBinary } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema, RenewalSuccessSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { type RenewalScheduleOptions, readTokenTimes, renewalDelayMs } from "./renewal-schedule.js";
import type { ServerChannel } from "./server-channel.js";
import { SessionExpiredError, TokenExpiredError, TokenRenewalError } from "./session-errors.js";
import type { SessionState } from "./session-state.js";

/** The session whose token the loop renews, and whom it tells. */
export interface RenewalLoopOptions {
  /** Holds the token that is traded in, and receives the new one. */
  state: SessionState;
  /** Carries REQ_RENEW_PNM_TOKEN to the server. */
  server: Pick<ServerChannel, "request">;
  /** When to renew; default: at 2/3 of the token's lifetime, give or take 5%. */
  schedule?: RenewalScheduleOptions;
  /** Receives each new token once the session state holds it. */
  onRenewed: (token: string) => void;
  /** Receives the session's end (Unix seconds) that a renewal answer states; pnm's servers state it in every one. */
  onSessionExpiresAt?: (unixSeconds: number) => void;
  /**
   * A scheduled renewal failed (TokenExpiredError, SessionExpiredError, TokenRenewalError or a lost answer);
   * one asked for with `renewNow` rejects instead. No renewal is scheduled after a failure.
   */
  onFailure: (error: Error) => void;
}

/** A running renewal loop. */
export interface RenewalLoop {
  /** Renews now, then schedules the next renewal from the new token's lifetime. */
  renewNow(): Promise<string>;
  /** No renewal starts after this. */
  stop(): void;
}

/**
 * Keeps the session's token fresh: renews it at the moment the schedule
 * picks from the token's own lifetime, and again from each new token.
 */
export function startRenewalLoop(options: RenewalLoopOptions): RenewalLoop {
  const { state } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function renewNow(): Promise<string> {
    const answer = await options.server.request(
      NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
      state.token,
      NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
    );
    if (!answer.msg) {
      const failure = fromBinary(RenewalFailureSchema, answer.binMsg);
      const ErrorClass =
        failure.reason === FailureReason.TOKEN_EXPIRED
          ? TokenExpiredError
          : failure.reason === FailureReason.SESSION_EXPIRED
            ? SessionExpiredError
            : TokenRenewalError;
      throw new ErrorClass(failure.reason, failure.msg);
    }
    state.token = answer.msg;
    options.onRenewed(answer.msg);
    // Upstream's servers send the token alone.
    if (answer.binMsg.length > 0)
      options.onSessionExpiresAt?.(Number(fromBinary(RenewalSuccessSchema, answer.binMsg).sessionExpiresAt));
    schedule();
    return answer.msg;
  }

  function schedule(): void {
    clearTimeout(timer);
    if (stopped) return;
    const delayMs = renewalDelayMs(readTokenTimes(state.token), Date.now(), options.schedule);
    timer = setTimeout(() => void renewNow().catch(options.onFailure), delayMs);
  }

  schedule();
  return {
    renewNow,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
