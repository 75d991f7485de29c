import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { TokenSpec } from "../cases/case-types.js";
import { StepError } from "../errors.js";
import { decodeCompact, encodeSegment, hmacFor, signCompact } from "../tokens/jwt.js";
import type { Scope } from "./variables.js";

/** A step's Authorization value, and where it goes. */
export interface ResolvedToken {
  /** Undefined: no Authorization at all. */
  value?: string;
  /** Sent as the `Authorization` query parameter instead of the header. */
  inQuery: boolean;
}

/**
 * Turns a step's token spec into the Authorization value. Derived tokens
 * start from one the server issued, so a case never depends on claims it did
 * not see, and are re-signed with the API secret: the harness knows the token
 * format (vectors/access-token.json), and a server must refuse each forgery
 * for the right reason.
 */
export function resolveToken(spec: TokenSpec | undefined, scope: Scope, apiSecret: string): ResolvedToken {
  if (!spec || spec.kind === "none") return { inQuery: false };
  if (spec.kind === "literal") return { value: spec.prefix + String(scope.resolve(spec.value)), inQuery: spec.inQuery };

  const issued = scope.get(spec.from);
  const decoded = typeof issued === "string" ? decodeCompact(issued) : undefined;
  if (!decoded) throw new StepError(`variable "${spec.from}" does not hold a JWT`);
  const header = applyChanges(decoded.header, scope.resolve(spec.header) as JsonObject);
  const claims = applyChanges(decoded.claims, scope.resolve(spec.claims) as JsonObject);
  const secret = spec.otherKey ? `${apiSecret}-other` : apiSecret;
  let token = signCompact(header, claims, secret, spec.signWith ?? hmacFor(header.alg));
  if (Object.keys(spec.tamper).length > 0) {
    const [headerPart, , signature] = token.split(".");
    token = `${headerPart}.${encodeSegment(applyChanges(claims, scope.resolve(spec.tamper) as JsonObject))}.${signature}`;
  }
  return { value: spec.prefix + token, inQuery: spec.inQuery };
}

function applyChanges(base: JsonObject, changes: { [key: string]: JsonValue }): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}
