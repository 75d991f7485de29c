import { fromBinary, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import type { AnswerExpectation } from "../cases/case-types.js";
import { type LiveKitCredentials, usesLiveKitMatcher, verifyLiveKitTokens } from "../livekit.js";
import { type MatchContext, match } from "./matchers.js";

/** A server envelope (NatsMsgServerToClient) as cases see it, for `save` and for messages. */
export interface ServerAnswer {
  /** The NatsMsgServerToClientEvent name. */
  event: string;
  /** The envelope's msg text. */
  msg: string;
  /** bin_msg read as a RenewalFailure, when it is one. */
  renewal_failure?: { request_id: string; reason: string; msg: string };
  /** bin_msg read as an ErrorDetail, when it is one. */
  error_detail?: { reason: string };
}

/** Reads a NatsMsgServerToClient envelope; undefined when the bytes are not one. */
export function decodeServerEnvelope(data: Uint8Array): NatsMsgServerToClient | undefined {
  try {
    return fromBinary(NatsMsgServerToClientSchema, data);
  } catch {
    return undefined;
  }
}

/** The NatsMsgServerToClientEvent name of an event value, or the number for one the contract does not name. */
export function eventName(event: number): string {
  return NatsMsgServerToClientEvent[event] ?? String(event);
}

/** An envelope as cases see it, with bin_msg read as a RenewalFailure or ErrorDetail when it names a reason. */
export function answerShape(message: NatsMsgServerToClient): ServerAnswer {
  const answer: ServerAnswer = { event: eventName(message.event), msg: message.msg };
  if (message.binMsg.length > 0) {
    // Both refusals put the reason in field 2 (RenewalFailure) or 1 (ErrorDetail); decode both, keep what names a reason.
    const failure = tryDecode(() => fromBinary(RenewalFailureSchema, message.binMsg));
    if (failure && failure.reason !== FailureReason.UNSPECIFIED) {
      answer.renewal_failure = { request_id: failure.requestId, reason: reasonName(failure.reason), msg: failure.msg };
    }
    const detail = tryDecode(() => fromBinary(ErrorDetailSchema, message.binMsg));
    if (detail && detail.reason !== FailureReason.UNSPECIFIED)
      answer.error_detail = { reason: reasonName(detail.reason) };
  }
  return answer;
}

/** One line on what an answer is, for reasons. */
export function describeAnswer(message: NatsMsgServerToClient): string {
  const answer = answerShape(message);
  if (answer.msg) return `${answer.event} with msg ${show(answer.msg)}`;
  if (answer.renewal_failure) return `${answer.event} refusing with RenewalFailure ${answer.renewal_failure.reason}`;
  if (answer.error_detail) return `${answer.event} refusing with ErrorDetail ${answer.error_detail.reason}`;
  return `${answer.event} with empty msg and ${message.binMsg.length} bytes of bin_msg`;
}

/** What checking an answer needs besides the expectation. */
export interface AnswerCheckOptions {
  /**
   * The id of the request envelope this answers, which a RenewalFailure must
   * name. An answer to a request is a success (msg) or a refusal (bin_msg and
   * no msg); a notice (SESSION_ENDED) may carry a text in msg besides its reason.
   */
  requestId?: string;
  /** To verify LiveKit tokens in a media answer (`$livekit`); without them such a check fails. */
  liveKit?: LiveKitCredentials;
}

/**
 * Checks one answer against the expectation (already resolved against the
 * case's variables); returns what differs. The event must be the expected
 * one; refusals must carry the typed reason in bin_msg and no msg; successes a
 * msg, matched as text or, for initial data and media, as the protojson it is.
 */
export async function checkAnswer(
  message: NatsMsgServerToClient,
  expect: AnswerExpectation,
  options: AnswerCheckOptions = {},
): Promise<string[]> {
  const answer = answerShape(message);
  if (message.event !== expect.event) return [`expected ${eventName(expect.event)}, got ${describeAnswer(message)}`];
  const refusal = (kind: "renewal_failure" | "error_detail", reason: string): string[] => {
    const label = kind === "renewal_failure" ? "RenewalFailure" : "ErrorDetail";
    // A refusal has no msg, unless the case states the one it carries (upstream's web client decodes msg even then).
    if (answer.msg && options.requestId !== undefined && expect.msg === undefined)
      return [`expected a refusal with ${label} ${reason}, got ${describeAnswer(message)}`];
    const got = answer[kind];
    if (!got) return [`expected a ${label} in bin_msg, got ${describeAnswer(message)}`];
    const problems = got.reason === reason ? [] : [`expected ${label} reason ${reason}, got ${got.reason}`];
    if (expect.msg !== undefined) problems.push(...match(expect.msg, answer.msg, "msg"));
    if (
      kind === "renewal_failure" &&
      options.requestId !== undefined &&
      answer.renewal_failure!.request_id !== options.requestId
    ) {
      problems.push(
        `RenewalFailure.request_id is ${show(answer.renewal_failure!.request_id)}, not the request's id ${show(options.requestId)}`,
      );
    }
    return problems;
  };
  if (expect.renewalFailure) return refusal("renewal_failure", expect.renewalFailure);
  if (expect.errorDetail) return refusal("error_detail", expect.errorDetail);

  if (expect.msg === undefined && expect.initialData === undefined && expect.media === undefined) return [];
  if (!answer.msg) return [`expected an answer with msg, got ${describeAnswer(message)}`];
  const problems: string[] = [];
  if (expect.msg !== undefined) problems.push(...match(expect.msg, answer.msg, "msg"));
  for (const [label, expected] of [
    ["initial_data", expect.initialData],
    ["media", expect.media],
  ] as const) {
    if (expected === undefined) continue;
    const parsed = parseJson(answer.msg);
    if (parsed === undefined) {
      problems.push(`${label}: msg is not JSON: ${show(answer.msg)}`);
      continue;
    }
    const context: MatchContext = {};
    if (usesLiveKitMatcher(expected) && options.liveKit)
      context.liveKit = await verifyLiveKitTokens(parsed, options.liveKit);
    problems.push(...match(expected, parsed, label, context));
  }
  return problems;
}

function reasonName(reason: FailureReason): string {
  return FailureReason[reason] ?? String(reason);
}

function tryDecode<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

function parseJson(text: string): JsonObject | undefined {
  try {
    const value = JSON.parse(text) as JsonValue;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 120 ? `${text.slice(0, 117)}..."` : text;
}
