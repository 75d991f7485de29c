import { create, toBinary } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  NatsMsgClientToServerEvent,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema, RenewalSuccessSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type RenewalLoopOptions, startRenewalLoop } from "../../src/session/renewal-loop.js";
import { SessionExpiredError, TokenExpiredError, TokenRenewalError } from "../../src/session/session-errors.js";
import { createSessionState } from "../../src/session/session-state.js";
import { unsignedJwt } from "./unsigned-jwt.js";

const start = 1_700_000_000; // seconds
const lifetime = 600;
/** A token valid for ten minutes from `nbf`; renewed at two thirds (jitter 0): 400 s after. */
const tokenFrom = (nbf: number) => unsignedJwt({ nbf, exp: nbf + lifetime });
const renewedToken = (nbf: number) =>
  create(NatsMsgServerToClientSchema, { event: NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN, msg: tokenFrom(nbf) });
const refusal = (reason: FailureReason) =>
  create(NatsMsgServerToClientSchema, {
    event: NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
    binMsg: toBinary(RenewalFailureSchema, create(RenewalFailureSchema, { reason, msg: "no" })),
  });

function loop(answers: ((token: string) => ReturnType<typeof renewedToken>)[]) {
  const state = createSessionState(tokenFrom(start));
  const request = vi.fn(async (_event: NatsMsgClientToServerEvent, token: string) => answers.shift()!(token));
  const onRenewed = vi.fn<RenewalLoopOptions["onRenewed"]>();
  const onFailure = vi.fn<RenewalLoopOptions["onFailure"]>();
  const onSessionExpiresAt = vi.fn<NonNullable<RenewalLoopOptions["onSessionExpiresAt"]>>();
  const renewal = startRenewalLoop({
    state,
    server: { request },
    schedule: { jitter: 0 },
    onRenewed,
    onFailure,
    onSessionExpiresAt,
  });
  return { state, request, onRenewed, onFailure, onSessionExpiresAt, renewal };
}

describe("renewal loop", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(start * 1000);
  });
  afterEach(() => vi.useRealTimers());

  it("trades the current token in at two thirds of its lifetime, then again from the new token's", async () => {
    const { state, request, onRenewed } = loop([() => renewedToken(start + 400), () => renewedToken(start + 800)]);
    await vi.advanceTimersByTimeAsync(399_999);
    expect(request).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(request).toHaveBeenCalledExactlyOnceWith(
      NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
      tokenFrom(start),
      NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
      // The server channel's default wait, well within the token's remaining 200 s.
      10_000,
    );
    expect(state.token).toBe(tokenFrom(start + 400));
    expect(onRenewed).toHaveBeenCalledExactlyOnceWith(tokenFrom(start + 400));

    await vi.advanceTimersByTimeAsync(400_000);
    expect(request).toHaveBeenCalledTimes(2);
    expect(request.mock.calls[1]![1]).toBe(tokenFrom(start + 400));
    expect(state.token).toBe(tokenFrom(start + 800));
  });

  it.each([
    ["TOKEN_EXPIRED", TokenExpiredError],
    ["SESSION_EXPIRED", SessionExpiredError],
    ["USER_BLOCKED", TokenRenewalError],
  ] as const)(
    "reports a scheduled renewal refused with %s as its typed error, keeps the token and schedules no other",
    async (name, ErrorClass) => {
      const reason = FailureReason[name];
      const { state, request, onRenewed, onFailure } = loop([() => refusal(reason)]);
      await vi.advanceTimersByTimeAsync(400_000);
      expect(onFailure).toHaveBeenCalledOnce();
      const error = onFailure.mock.calls[0]![0];
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toMatchObject({ reason });
      expect(onRenewed).not.toHaveBeenCalled();
      expect(state.token).toBe(tokenFrom(start));
      await vi.advanceTimersByTimeAsync(lifetime * 1000);
      expect(request).toHaveBeenCalledOnce();
    },
  );

  it("renews on demand, rejecting with the typed error rather than reporting it, and reschedules from the new token", async () => {
    const { state, request, onFailure, renewal } = loop([
      () => refusal(FailureReason.TOKEN_EXPIRED),
      () => renewedToken(start + 100),
    ]);
    await expect(renewal.renewNow()).rejects.toThrow(TokenExpiredError);
    expect(onFailure).not.toHaveBeenCalled();
    await expect(renewal.renewNow()).resolves.toBe(tokenFrom(start + 100));
    expect(state.token).toBe(tokenFrom(start + 100));
    // The first schedule (400 s) was replaced by the new token's: 100 + 400 s.
    await vi.advanceTimersByTimeAsync(499_999);
    expect(request).toHaveBeenCalledTimes(2);
  });

  it("passes on the session's end that a renewal answer states, and reads an answer without one as upstream's", async () => {
    const stating = () => ({
      ...renewedToken(start + 400),
      binMsg: toBinary(
        RenewalSuccessSchema,
        create(RenewalSuccessSchema, { sessionExpiresAt: BigInt(start + 86_400) }),
      ),
    });
    const { onSessionExpiresAt, renewal, state } = loop([stating, () => renewedToken(start + 800)]);
    await renewal.renewNow();
    expect(onSessionExpiresAt).toHaveBeenCalledExactlyOnceWith(start + 86_400);
    await renewal.renewNow();
    expect(onSessionExpiresAt).toHaveBeenCalledOnce();
    expect(state.token).toBe(tokenFrom(start + 800));
  });

  it("tries a renewal without an answer again while the token is valid (the connection was being replaced)", async () => {
    const closed = () => {
      throw new Error("the NATS connection is closed");
    };
    const { state, request, onFailure } = loop([closed, closed, () => renewedToken(start + 401)]);
    await vi.advanceTimersByTimeAsync(400_000);
    expect(request).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(250 + 500);
    expect(request).toHaveBeenCalledTimes(3);
    expect(request.mock.calls[2]![1]).toBe(tokenFrom(start));
    expect(state.token).toBe(tokenFrom(start + 401));
    expect(onFailure).not.toHaveBeenCalled();
  });

  it("reports TokenExpiredError when no renewal got an answer before the token expired, and tries no more", async () => {
    const { state, request, onFailure } = loop([]);
    request.mockImplementation(async () => {
      throw new Error("no RESP_RENEW_PNM_TOKEN from the server");
    });
    await vi.advanceTimersByTimeAsync(lifetime * 1000 - 1);
    expect(onFailure).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onFailure).toHaveBeenCalledOnce();
    expect(onFailure.mock.calls[0]![0]).toBeInstanceOf(TokenExpiredError);
    expect(onFailure.mock.calls[0]![0]).toMatchObject({ reason: FailureReason.TOKEN_EXPIRED });
    const tries = request.mock.calls.length;
    await vi.advanceTimersByTimeAsync(lifetime * 1000);
    expect(request).toHaveBeenCalledTimes(tries);
    expect(state.token).toBe(tokenFrom(start));
  });

  it("starts no renewal after stop, not even from one that was under way", async () => {
    let answer!: (message: ReturnType<typeof renewedToken>) => void;
    const { state, request, renewal } = loop([]);
    request.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    await vi.advanceTimersByTimeAsync(400_000);
    expect(request).toHaveBeenCalledOnce();
    renewal.stop();
    answer(renewedToken(start + 400));
    await vi.advanceTimersByTimeAsync(lifetime * 2000);
    expect(state.token).toBe(tokenFrom(start + 400));
    expect(request).toHaveBeenCalledOnce();
  });

  it("does not fire at all when stopped before its moment", async () => {
    const { request, renewal } = loop([]);
    renewal.stop();
    await vi.advanceTimersByTimeAsync(lifetime * 1000);
    expect(request).not.toHaveBeenCalled();
  });
});
