import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { decodeCompact } from "./tokens/jwt.js";

/** The LiveKit API key and secret of the server under test: with them the harness checks media tokens as LiveKit would. */
export interface LiveKitCredentials {
  /** The LiveKit API key, the tokens' issuer. */
  apiKey: string;
  /** The LiveKit API secret, the tokens' HS256 key. */
  apiSecret: string;
}

/** Each JWT found in an answer → its verified claims, or why it did not verify. */
export type VerifiedLiveKitTokens = ReadonlyMap<string, { claims: JsonObject } | { error: string }>;

/**
 * Verifies every JWT in `answer` with livekit-server-sdk's TokenVerifier
 * (signature with the LiveKit secret, issuer = the LiveKit API key, nbf/exp),
 * for the `$livekit` matcher. livekit-server-sdk is loaded only when a case
 * checks a media token, so runs without one do not pay for loading it.
 */
export async function verifyLiveKitTokens(
  answer: JsonValue | undefined,
  credentials: LiveKitCredentials,
): Promise<VerifiedLiveKitTokens> {
  const { TokenVerifier } = await import("livekit-server-sdk");
  const verifier = new TokenVerifier(credentials.apiKey, credentials.apiSecret);
  const verified = new Map<string, { claims: JsonObject } | { error: string }>();
  await Promise.all(
    jwtsIn(answer).map(async (token) => {
      try {
        const claims = await verifier.verify(token);
        verified.set(token, { claims: JSON.parse(JSON.stringify(claims)) as JsonObject });
      } catch (err) {
        verified.set(token, { error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return verified;
}

/** Whether an expectation uses the `$livekit` matcher anywhere. */
export function usesLiveKitMatcher(expected: JsonValue | undefined): boolean {
  if (expected === null || typeof expected !== "object") return false;
  if (Array.isArray(expected)) return expected.some(usesLiveKitMatcher);
  return Object.entries(expected).some(([key, value]) => key === "$livekit" || usesLiveKitMatcher(value));
}

function jwtsIn(value: JsonValue | undefined): string[] {
  if (typeof value === "string") return decodeCompact(value) ? [value] : [];
  if (value === null || typeof value !== "object") return [];
  return (Array.isArray(value) ? value : Object.values(value)).flatMap(jwtsIn);
}
