import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ReasonName } from "../failure-table.js";
import type { Profile, Transport } from "../profiles.js";
import type { AuthFault } from "../wire/call-types.js";

/**
 * A behavioural case as read from `cases/*.yaml`. Strings anywhere in a step
 * may hold `${name}` references (see README.md, "Variables").
 */
export interface CaseDefinition {
  /** Stable, unique, `group/kebab-name`; expanded names add `/transport:<t>`. */
  name: string;
  /** The profile the case belongs to: `upstream` cases run in every run, `pnm` cases only in pnm runs. */
  profile: Profile;
  /** One line: what the case proves. */
  purpose: string;
  /** Transports the case runs over, before the features config narrows them; default all. */
  transports: Transport[];
  /** What the server or the run must offer besides the transports; a case whose requirements are not met is not run. */
  requires: Requirement[];
  /** Run in order; the first that fails ends the case. */
  steps: Step[];
  /** The file the case came from, for messages. */
  file: string;
}

/**
 * `nats`: the features file says the server offers the NATS plane (participants'
 * WebSocket connections). `livekit`: the run knows the server's LiveKit API key
 * and secret, so it can verify media tokens. `no-livekit`: the run was told the
 * server has no media server.
 */
export const requirements = ["nats", "livekit", "no-livekit"] as const;
/** One of `requirements`. */
export type Requirement = (typeof requirements)[number];

/** One step of a case: a call of the API, or something a participant does on the NATS plane. */
export type Step = CallStep | ParticipantStep;

/** A call of the contract's API over the case's transport. */
export interface CallStep {
  /** Marks a call step. */
  kind: "call";
  /** `RoomService.CreateRoom`, `ParticipantService.VerifyToken`, … */
  call: string;
  /** The request message as protojson (upstream field names). */
  request: JsonObject;
  /** A body sent instead of `request` as written: JSON text, or the binary message as lower-case hex. */
  raw?: { json?: string; protoHex?: string };
  /** How the signature headers are spoiled; empty sends them correctly. */
  auth: AuthFault;
  /** The Authorization value of a token-authenticated call; none when unset. */
  token?: TokenSpec;
  /** What the answer must be. */
  expect: Expectation;
  /** variable name → dotted path into the answer, e.g. `{ sid: room_info.sid }`. */
  save: Record<string, string>;
  /** A variable to save the PNM-SIGNATURE value sent under (`auth.save_header`), for a later step to replay. */
  saveHeader?: string;
}

/**
 * The Authorization value of a token-authenticated call: a literal string, or
 * a token derived from an issued one and re-signed with the API secret.
 */
export type TokenSpec =
  | { kind: "none" }
  | { kind: "literal"; value: string; prefix: string; inQuery: boolean }
  | {
      kind: "derived";
      /** Variable holding the issued token. */
      from: string;
      /** Claims to set; null removes a claim; `{ $now: n }` is now + n seconds. */
      claims: Record<string, JsonValue>;
      header: Record<string, JsonValue>;
      /** HS256 (default), HS384, HS512 or none; independent of what the header says. */
      signWith?: string;
      /** Sign with a secret other than the API secret. */
      otherKey: boolean;
      /** Claims changed after signing, keeping the old signature. */
      tamper: Record<string, JsonValue>;
      prefix: string;
      inQuery: boolean;
    };

/** What a call's answer must be, on whichever transport it ran. */
export interface Expectation {
  /** Success, a failure with this reason (name without prefix), or either. */
  outcome: { ok: true } | { failure: ReasonName } | { any: true };
  /** Field paths a validation failure must name, in its text and (pnm) in a buf.validate.Violations detail. */
  violations: string[];
  /** Texts the failure's message (REST `msg`, RPC error message) must contain. */
  messageContains: string[];
  /** Partial match on the answer's upstream JSON shape (matchers in README.md). */
  fields?: JsonObject;
}

/**
 * A step of the NATS plane, acting as a participant: a raw NATS connection over
 * WebSocket (`connect`), or a whole session of pnm's client SDK (`join_session`).
 * Participants are named in the case; their names are not variables.
 */
export type ParticipantStep =
  | { kind: "connect"; participant: string; token: TokenSpec; inboxPrefix?: string; expect: "admitted" | "refused" }
  | { kind: "connect-many"; prefix: string; count: number; room: string; admitted: number }
  | { kind: "close"; participant: string }
  | { kind: "connection"; participant: string; expect: "closed" | "open"; withinMs: number; reason?: ReasonName }
  | { kind: "subscribe"; participant: string; subject: string; expect?: "accepted" | "refused" }
  | {
      kind: "publish";
      participant: string;
      subject: string;
      /** Text, or a request envelope (NatsMsgClientToServer event value and msg). */
      payload: string | { event: number; msg: string };
      reply?: string;
      expect?: "accepted" | "refused";
    }
  | { kind: "received"; participant: string; subject?: string; withinMs: number; expect: DeliveryExpectation }
  | {
      kind: "request";
      participant: string;
      /** A NatsMsgClientToServerEvent value. */
      event: number;
      /** The envelope's msg: a literal or a token derived from an issued one. */
      msg?: TokenSpec;
      worker: "core" | "js";
      /** As upstream's web client: a JetStream publish, the answer read from the participant's consumer. */
      throughConsumer: boolean;
      withinMs: number;
      expect: AnswerExpectation;
      save: Record<string, string>;
    }
  | {
      kind: "join-session";
      participant: string;
      token: TokenSpec;
      passphrase?: string;
      expect: { joined: true } | { refused: ReasonName };
    }
  | { kind: "send-chat"; participant: string; text: string }
  | { kind: "leave"; participant: string }
  /** Reads the participant's consumer `<room>_<user>` on the room stream, as upstream's web client does. */
  | { kind: "consume"; participant: string; expect: "accepted" | "refused" };

/** What a participant must (not) have received by the end of the wait. */
export interface DeliveryExpectation {
  /** Texts some message must contain (raw: the payload bytes; session: a decrypted chat message). */
  contains: string[];
  /** Texts no message may contain. */
  notContains: string[];
  /** No message at all. */
  nothing: boolean;
  /** At least this many messages. */
  atLeast?: number;
  /** Raw connections: some message is a server envelope matching this. */
  envelope?: AnswerExpectation;
  /** Sessions: a message could not be decrypted (DecryptionError). */
  decryptionError: boolean;
}

/** The server's answer to a request envelope (NatsMsgServerToClient on the participant's private subject). */
export interface AnswerExpectation {
  /** A NatsMsgServerToClientEvent value; the answer awaited. */
  event: number;
  /** No answer of this event arrives within the wait. */
  none: boolean;
  /** Matches the answer's msg as text. */
  msg?: JsonValue;
  /** The answer is a refusal: empty msg, bin_msg a RenewalFailure with this reason and the request's id. */
  renewalFailure?: ReasonName;
  /** The answer is a refusal: empty msg, bin_msg an ErrorDetail with this reason. */
  errorDetail?: ReasonName;
  /** msg is NatsInitialData as protojson; partial match. */
  initialData?: JsonObject;
  /** msg is MediaServerConnInfo as protojson; partial match (`$livekit` verifies a LiveKit token). */
  media?: JsonObject;
}
