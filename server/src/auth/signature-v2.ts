/**
 * pnm's signature v2 (README.md, "API surface"): one header,
 *
 *   PNM-SIGNATURE: v2;ts=<unix seconds>;nonce=<nonce>;sig=<64 lower-case hex>
 *
 * where sig is the HMAC-SHA256, keyed with the API secret, of the canonical
 * string: six lines joined by "\n", no trailing newline,
 *
 *   PNM-HMAC-SHA256-V2
 *   <HTTP method>
 *   <request path, without the query string>
 *   <ts>
 *   <nonce>
 *   <lower-case hex SHA-256 of the signed bytes (HASH-SIGNATURE's rule)>
 *
 * Upstream's HASH-SIGNATURE binds the body only, so a captured request
 * replays forever and on any route that takes the same body
 * (docs/security-gaps.md #1); v2 binds the route, the time and a nonce.
 */
export const signatureV2Header = "pnm-signature";

/** The first line of the canonical string: names the scheme, so a v2 MAC can never equal a MAC of anything else pnm signs. */
export const canonicalPrefix = "PNM-HMAC-SHA256-V2";

/** A parsed PNM-SIGNATURE value. */
export interface SignatureV2Fields {
  /** As written in the header: it is signed as text. */
  timestamp: string;
  /** 16 to 64 characters of A-Z a-z 0-9 _ -. */
  nonce: string;
  /** 64 lower-case hex digits. */
  signature: string;
}

// Strict: one spelling per value, so what is signed and what is checked cannot differ.
const headerPattern = /^v2;ts=(0|[1-9][0-9]{0,11});nonce=([A-Za-z0-9_-]{16,64});sig=([0-9a-f]{64})$/;

/** The fields of a PNM-SIGNATURE value, or undefined when it does not follow the grammar exactly. */
export function parseSignatureV2(value: string): SignatureV2Fields | undefined {
  const match = headerPattern.exec(value);
  return match ? { timestamp: match[1]!, nonce: match[2]!, signature: match[3]! } : undefined;
}

/** The parts of a request the canonical string is made of. */
export interface CanonicalRequest {
  /** The HTTP method; written upper-case. */
  method: string;
  /** The request path without the query string, as sent. */
  path: string;
  /** Unix seconds, as written in the header. */
  timestamp: string;
  /** As written in the header. */
  nonce: string;
  /** Lower-case hex SHA-256 of the signed bytes. */
  bodyDigest: string;
}

/** The string the v2 MAC covers. */
export function canonicalStringV2(request: CanonicalRequest): string {
  return [
    canonicalPrefix,
    request.method.toUpperCase(),
    request.path,
    request.timestamp,
    request.nonce,
    request.bodyDigest,
  ].join("\n");
}

/** True when `timestamp` (Unix seconds) is at most `windowMs` before or after `nowMs`. */
export function withinWindow(timestamp: string, nowMs: number, windowMs: number): boolean {
  return Math.abs(Number(timestamp) * 1000 - nowMs) <= windowMs;
}
