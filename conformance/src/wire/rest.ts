import { fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import { VerifyTokenResponseSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { describeError, StepError } from "../errors.js";
import type { Operation } from "../operations.js";
import type { JsonObject } from "../tokens/jwt.js";
import { authHeaders, type Credentials } from "./auth-headers.js";
import type { CallOutcome, WireRequest } from "./call-types.js";
import { toResponseShape } from "./response-shape.js";

/** The server the REST calls go to, and the credentials they are signed with. */
export interface RestTarget extends Credentials {
  /** The server's URL; REST paths are appended to it. */
  baseUrl: string;
  /** Per call. */
  timeoutMs: number;
}

/**
 * Upstream's REST routes: signed protojson on `/auth/room/*`, binary
 * protobuf with the token in Authorization on `/api/verifyToken`.
 */
export async function callRest(target: RestTarget, op: Operation, request: WireRequest): Promise<CallOutcome> {
  const signed = op.auth === "signature";
  const body = signed ? jsonBody(request) : binaryBody(op, request);
  const headers = new Headers({ "content-type": signed ? "application/json" : "application/protobuf" });
  let url = target.baseUrl.replace(/\/+$/, "") + op.restPath;
  if (signed) {
    const route = { method: "POST", path: new URL(url).pathname };
    for (const [name, value] of Object.entries(authHeaders(target, body, "body", request.auth, route)))
      if (value !== undefined) headers.set(name, value);
  } else if (request.token !== undefined && !request.tokenInQuery) {
    headers.set("authorization", request.token);
  }
  if (request.tokenInQuery && request.token !== undefined) url += `?Authorization=${encodeURIComponent(request.token)}`;

  let response: Response;
  let bytes: Uint8Array;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (err) {
    return { transport: "rest", text: "", unreadable: `no answer: ${describeError(err)}` };
  }
  const outcome: CallOutcome = {
    transport: "rest",
    httpStatus: response.status,
    reasonHeader: response.headers.get("pnm-failure-reason") ?? undefined,
    text: Buffer.from(bytes).toString("utf8"),
    sentSignature: headers.get("pnm-signature") ?? undefined,
  };
  return signed ? readJson(outcome, response, bytes) : readVerifyAnswer(outcome, bytes);
}

function jsonBody(request: WireRequest): Uint8Array {
  if (request.rawJson === undefined && request.rawProto !== undefined)
    throw new StepError("the step gives only a binary body; REST needs `raw.json`");
  return Buffer.from(request.rawJson ?? JSON.stringify(request.json), "utf8");
}

function binaryBody(op: Operation, request: WireRequest): Uint8Array {
  if (request.rawProto !== undefined) return request.rawProto;
  if (request.rawJson !== undefined)
    throw new StepError("the step gives only a JSON body; this REST route needs `raw.proto_hex`");
  try {
    return toBinary(op.input, fromJson(op.input, request.json, { ignoreUnknownFields: true }));
  } catch (err) {
    throw new StepError(`request does not fit ${op.input.typeName}: ${describeError(err)}`, { cause: err });
  }
}

function readJson(outcome: CallOutcome, response: Response, bytes: Uint8Array): CallOutcome {
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("application/json"))
    return { ...outcome, unreadable: `content-type is "${contentType}", not application/json` };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return { ...outcome, unreadable: "body is not a JSON object" };
    return { ...outcome, body: parsed as JsonObject };
  } catch (err) {
    return { ...outcome, unreadable: `body is not JSON: ${describeError(err)}` };
  }
}

/**
 * Upstream's web client decodes every answer of /api/verifyToken as
 * VerifyTokenRes; a failure body that carries field 3 as a status code does
 * not decode so, which is why the contract forbids it.
 */
function readVerifyAnswer(outcome: CallOutcome, bytes: Uint8Array): CallOutcome {
  try {
    const message = fromBinary(VerifyTokenResponseSchema, bytes);
    const body = message.status
      ? toResponseShape(VerifyTokenResponseSchema, message)
      : { status: false, msg: message.msg };
    return { ...outcome, body };
  } catch (err) {
    return { ...outcome, unreadable: `body does not decode as VerifyTokenRes: ${describeError(err)}` };
  }
}
