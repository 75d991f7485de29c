import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  type NatsMsgClientToServer,
  NatsMsgClientToServerEvent,
  NatsMsgServerToClientEvent,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import { failureInfo, pnmError } from "../errors.js";
import type { ParticipantMessenger, ServerMessage } from "./participant-messenger.js";
import { createTokenBuckets, type RateLimit } from "./rate-limits.js";

/** pnm's default: a session sends a handful of requests at join and one renewal every few minutes; upstream's client pings every few seconds. */
export const defaultRequestLimit: Readonly<RateLimit> = { ratePerSecond: 10, burst: 30 };

/** Each participant's budget of requests on its worker subjects. */
export interface RequestLimiter {
  /** Counts one request of the participant; false when it is over the rate and must not be served. */
  take(roomId: string, userId: string): boolean;
  /**
   * Answers a request refused by `take` with the event that would have
   * answered it, carrying RATE_LIMITED, so that the client is not left
   * waiting. Refusals are limited to the same rate: past twice the rate,
   * requests are dropped unanswered, and a flood of requests cannot become a
   * flood of answers.
   */
  refuse(roomId: string, userId: string, request: NatsMsgClientToServer): Promise<void>;
}

const rateLimitedText = "too many requests: slow down";

/** The answer each answerable request gets when refused for its rate. */
const refusals: Partial<Record<NatsMsgClientToServerEvent, (request: NatsMsgClientToServer) => ServerMessage>> = {
  [NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN]: (request) => ({
    event: NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
    binMsg: toBinary(
      RenewalFailureSchema,
      create(RenewalFailureSchema, { requestId: request.id, reason: FailureReason.RATE_LIMITED, msg: rateLimitedText }),
    ),
  }),
  [NatsMsgClientToServerEvent.REQ_INITIAL_DATA]: () => ({
    event: NatsMsgServerToClientEvent.RES_INITIAL_DATA,
    binMsg: rateLimitedDetail(),
  }),
  [NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA]: () => ({
    event: NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA,
    binMsg: rateLimitedDetail(),
  }),
  [NatsMsgClientToServerEvent.PING]: () => ({ event: NatsMsgServerToClientEvent.PONG, binMsg: rateLimitedDetail() }),
};

function rateLimitedDetail(): Uint8Array {
  const { reason, statusCode } = failureInfo(pnmError(FailureReason.RATE_LIMITED, rateLimitedText));
  return toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason, statusCode }));
}

/**
 * A token bucket per participant over both worker subjects (PNM_REQUEST_RATE,
 * PNM_REQUEST_BURST). Each pnm instance counts the requests it handles: core
 * requests are spread over the instances' queue group, so with N instances a
 * participant gets up to N times the rate, never more.
 */
export function createRequestLimiter(options: {
  limit: RateLimit;
  messenger: ParticipantMessenger;
  now?: () => number;
}): RequestLimiter {
  const requests = createTokenBuckets(options.limit, options.now);
  const answers = createTokenBuckets(options.limit, options.now);
  const key = (roomId: string, userId: string) => `${roomId}.${userId}`; // ids never contain dots
  return {
    take: (roomId, userId) => requests.take(key(roomId, userId)),
    async refuse(roomId, userId, request) {
      const refusal = refusals[request.event];
      if (!refusal || !answers.take(key(roomId, userId))) return;
      await options.messenger.toUser(roomId, userId, refusal(request));
    },
  };
}
