import { fromBinary } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { NatsMsgClientToServerEvent, NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema, RenewalSuccessSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { type RenewalScheduleOptions, readTokenTimes, renewalDelayMs } from "./renewal-schedule.js";
import type { ServerChannel } from "./server-channel.js";
import { SessionError, SessionExpiredError, TokenExpiredError, TokenRenewalError } from "./session-errors.js";
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
   * A scheduled renewal was refused (TokenExpiredError, SessionExpiredError, TokenRenewalError), or got no answer
   * before the token expired (TokenExpiredError); one asked for with `renewNow` rejects instead. A renewal that
   * gets no answer (its request could not be sent while the connection is being replaced, or the answer was lost)
   * is tried again while the token is valid. No renewal is scheduled after a failure.
   */
  onFailure: (error: Error) => void;
  /** First delay before trying a renewal without an answer again, in ms, doubled up to 2 s; default 250. */
  retryDelayMs?: number;
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

  async function renewNow(timeoutMs?: number): Promise<string> {
    const answer = await options.server.request(
      NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
      state.token,
      NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
      timeoutMs,
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
    // Upstream's servers send the token alone. Read before onRenewed, so that its listeners see the session's end.
    if (answer.binMsg.length > 0)
      options.onSessionExpiresAt?.(Number(fromBinary(RenewalSuccessSchema, answer.binMsg).sessionExpiresAt));
    options.onRenewed(answer.msg);
    schedule();
    return answer.msg;
  }

  function schedule(): void {
    clearTimeout(timer);
    if (stopped) return;
    const delayMs = renewalDelayMs(readTokenTimes(state.token), Date.now(), options.schedule);
    timer = setTimeout(() => void renewScheduled(options.retryDelayMs ?? 250), delayMs);
  }

  /**
   * A scheduled renewal. A refusal is reported as it is. Without an answer the token is still held, so the renewal
   * is tried again until it expires: otherwise nothing would renew it, and the session would never hear its end.
   */
  async function renewScheduled(retryDelayMs: number): Promise<void> {
    if (stopped) return;
    const expiresAtMs = readTokenTimes(state.token).exp * 1000;
    const expired = (cause: unknown) =>
      options.onFailure(
        new TokenExpiredError(FailureReason.TOKEN_EXPIRED, "the token expired before a renewal got an answer", {
          cause,
        }),
      );
    if (Date.now() >= expiresAtMs) return expired(new Error("no renewal answered before the token expired"));
    try {
      // No answer waited for outlives the token: the session then ends as it expires.
      await renewNow(Math.min(10_000, Math.max(retryDelayMs, expiresAtMs - Date.now())));
    } catch (err) {
      if (stopped) return;
      if (err instanceof SessionError) return options.onFailure(err);
      const leftMs = expiresAtMs - Date.now();
      if (leftMs <= 0) return expired(err);
      clearTimeout(timer);
      timer = setTimeout(() => void renewScheduled(Math.min(retryDelayMs * 2, 2_000)), Math.min(retryDelayMs, leftMs));
    }
  }

  schedule();
  return {
    renewNow: () => renewNow(),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
