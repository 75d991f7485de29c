import type { JsonObject } from "@bufbuild/protobuf";
import type { WebSocketConstructor } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { describeError } from "../errors.js";
import { operations } from "../operations.js";
import type { Transport } from "../profiles.js";
import type { Wire } from "../wire/wire.js";

/** Where and how participants reach the server's NATS plane. */
export interface NatsTarget {
  /** The WebSocket URL participants connect to. */
  wsUrl: string;
  /**
   * Subject roots from VerifyToken's `nats_subjects`, as case variables:
   * `chat`, `whiteboard`, `data_channel`, `sys_public`, `sys_private`,
   * `sys_core_worker`, `sys_js_worker`.
   */
  subjects: Record<string, string>;
  /** What the client SDK's sessions open; it connects to `wsUrl` whatever VerifyToken names. */
  webSocket: WebSocketConstructor;
  /** VerifyToken's `room_stream_name`: the stream upstream's web client reads its consumer from; unset when it names none. */
  roomStream?: string;
}

// NatsSubjects field (proto name) → case variable.
const subjectVariables: Record<string, string> = {
  chat: "chat",
  whiteboard: "whiteboard",
  data_channel: "data_channel",
  system_public: "sys_public",
  system_private: "sys_private",
  system_core_worker: "sys_core_worker",
  system_js_worker: "sys_js_worker",
};

/**
 * Asks the server how participants reach NATS, as a participant would: a
 * probe room, a join token, VerifyToken. Its `nats_subjects` give the subject
 * roots; its first `nats_ws_urls` entry is the WebSocket URL unless the run was
 * given one (`--nats-url`, for a deployment whose advertised URL the harness
 * cannot reach). The probe room is ended afterwards.
 */
export async function discoverNats(
  wire: Wire,
  transport: Transport,
  runId: string,
  natsUrl?: string,
): Promise<NatsTarget> {
  const roomId = `${runId}-nats-probe`;
  const call = async (name: string, json: JsonObject, token?: string): Promise<JsonObject> => {
    const outcome = await wire.call(transport, operations.get(name)!, { json, auth: {}, token });
    const failed =
      outcome.error?.message ??
      outcome.unreadable ??
      (outcome.body?.status === true ? undefined : String(outcome.body?.msg ?? "no answer"));
    if (failed !== undefined) throw new Error(`${name} over ${transport} failed: ${failed}`);
    return outcome.body!;
  };
  let verified: JsonObject;
  try {
    await call("RoomService.CreateRoom", {
      room_id: roomId,
      metadata: { room_title: "pnm-conformance NATS probe", room_features: {} },
    });
    const joined = await call("RoomService.GetJoinToken", {
      room_id: roomId,
      user_info: { name: "Probe", user_id: "probe" },
    });
    verified = await call("ParticipantService.VerifyToken", { is_production: true }, String(joined.token));
  } finally {
    await wire
      .call(transport, operations.get("RoomService.EndRoom")!, { json: { room_id: roomId }, auth: {} })
      .catch(() => undefined);
  }
  const urls = verified.nats_ws_urls;
  const advertised = Array.isArray(urls) && typeof urls[0] === "string" ? urls[0] : undefined;
  const wsUrl = natsUrl ?? advertised;
  if (!wsUrl) throw new Error("VerifyToken names no nats_ws_urls; give --nats-url");
  const given = (verified.nats_subjects ?? {}) as JsonObject;
  const subjects: Record<string, string> = {};
  for (const [field, variable] of Object.entries(subjectVariables)) {
    const root = given[field];
    if (typeof root !== "string" || root === "") throw new Error(`VerifyToken's nats_subjects has no ${field}`);
    subjects[variable] = root;
  }
  const roomStream = typeof verified.room_stream_name === "string" ? verified.room_stream_name : undefined;
  return { wsUrl, subjects, webSocket: redirectedWebSocket(natsUrl), roomStream };
}

/** Node's WebSocket, connecting to `url` instead of the address it is given when `url` is set. */
function redirectedWebSocket(url: string | undefined): WebSocketConstructor {
  if (!url) return nodeWebSocket;
  const target: string = url;
  const Base = nodeWebSocket;
  return class extends Base {
    constructor(_advertised: string) {
      super(target);
    }
  };
}

/** Why the NATS plane could not be found, as the reason of the cases that need it. */
export function describeDiscoveryFailure(err: unknown): string {
  return `cannot reach the NATS plane: ${describeError(err)}`;
}
