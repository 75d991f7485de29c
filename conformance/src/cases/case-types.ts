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
  profile: Profile;
  /** One line: what the case proves. */
  purpose: string;
  /** Transports the case runs over, before the features config narrows them; default all. */
  transports: Transport[];
  steps: Step[];
  /** The file the case came from, for messages. */
  file: string;
}

export interface Step {
  /** `RoomService.CreateRoom`, `ParticipantService.VerifyToken`, … */
  call: string;
  request: JsonObject;
  raw?: { json?: string; protoHex?: string };
  auth: AuthFault;
  token?: TokenSpec;
  expect: Expectation;
  /** variable name → dotted path into the answer, e.g. `{ sid: room_info.sid }`. */
  save: Record<string, string>;
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

export interface Expectation {
  outcome: { ok: true } | { failure: ReasonName } | { any: true };
  /** Field paths a validation failure must name, in its text and (pnm) in a buf.validate.Violations detail. */
  violations: string[];
  /** Texts the failure's message (REST `msg`, RPC error message) must contain. */
  messageContains: string[];
  /** Partial match on the answer's upstream JSON shape (matchers in README.md). */
  fields?: JsonObject;
}
