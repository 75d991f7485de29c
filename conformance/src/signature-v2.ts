import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type SignedFraming, signedBytes, UnsignableBodyError } from "./signature.js";

/**
 * PNM-SIGNATURE, pnm's signature v2 (docs/security-gaps.md #1), written from
 * the contract rather than taken from pnm's code, so that it checks servers
 * and clients that share none:
 *
 *   PNM-SIGNATURE: v2;ts=<unix seconds>;nonce=<16-64 of A-Za-z0-9_->;sig=<64 lower-case hex>
 *
 * sig = hex HMAC-SHA256(API secret, canonical string), where the canonical
 * string is six lines joined by "\n", no trailing newline:
 * `PNM-HMAC-SHA256-V2`, the method, the path, the timestamp, the nonce, and
 * the hex SHA-256 of the signed bytes (HASH-SIGNATURE's rule, see signature.ts).
 */
export interface SignatureV2Request {
  /** The HTTP method, e.g. POST. */
  method: string;
  /** Without the query string. */
  path: string;
  /** Unix seconds, written as decimal digits. */
  timestamp: number;
  /** 16 to 64 characters of A-Z a-z 0-9 _ -. */
  nonce: string;
}

/** The header that carries it. */
export const signatureV2HeaderName = "PNM-SIGNATURE";

/** The canonical string for a request whose signed bytes are `signed`. */
export function canonicalV2(request: SignatureV2Request, signed: Uint8Array): string {
  const digest = createHash("sha256").update(signed).digest("hex");
  return [
    "PNM-HMAC-SHA256-V2",
    request.method.toUpperCase(),
    request.path,
    String(request.timestamp),
    request.nonce,
    digest,
  ].join("\n");
}

/** The hex MAC of a canonical string. */
export function macV2(secret: string, canonical: string): string {
  return createHmac("sha256", secret).update(canonical, "utf8").digest("hex");
}

/** A PNM-SIGNATURE value with `sig` as given. */
export function headerV2(request: SignatureV2Request, sig: string): string {
  return `v2;ts=${request.timestamp};nonce=${request.nonce};sig=${sig}`;
}

/** The correct PNM-SIGNATURE value for a request body sent with `framing`. */
export function signV2(secret: string, request: SignatureV2Request, body: Uint8Array, framing: SignedFraming): string {
  return headerV2(request, macV2(secret, canonicalV2(request, signedBytes(body, framing))));
}

const headerPattern = /^v2;ts=(0|[1-9][0-9]{0,11});nonce=([A-Za-z0-9_-]{16,64});sig=([0-9a-f]{64})$/;

/** What checking a PNM-SIGNATURE can give: valid, or the FailureReason of the first check that fails. */
export type SignatureV2Outcome =
  | "valid"
  | "SIGNATURE_MISSING"
  | "SIGNATURE_INVALID"
  | "SIGNATURE_EXPIRED"
  | "BODY_MALFORMED";

/**
 * The contract's stateless check of a PNM-SIGNATURE value, in its order: an
 * empty value is missing; then the grammar (exact, one spelling per value);
 * then the timestamp, at most `windowSeconds` from `nowSeconds` either way;
 * then the body's framing; then the MAC. A server claims the nonce after all
 * of these pass (a replay is SIGNATURE_REPLAYED), which needs state, so no
 * vector can show it.
 */
export function verifySignatureV2(options: {
  secret: string;
  method: string;
  path: string;
  body: Uint8Array;
  framing: SignedFraming;
  header: string;
  nowSeconds: number;
  windowSeconds: number;
}): SignatureV2Outcome {
  if (options.header === "") return "SIGNATURE_MISSING";
  const match = headerPattern.exec(options.header);
  if (!match) return "SIGNATURE_INVALID";
  const [, ts, nonce, sig] = match as unknown as [string, string, string, string];
  if (Math.abs(Number(ts) - options.nowSeconds) > options.windowSeconds) return "SIGNATURE_EXPIRED";
  let signed: Uint8Array;
  try {
    signed = signedBytes(options.body, options.framing);
  } catch (err) {
    if (err instanceof UnsignableBodyError) return "BODY_MALFORMED";
    throw err;
  }
  const expected = Buffer.from(
    macV2(
      options.secret,
      canonicalV2({ method: options.method, path: options.path, timestamp: Number(ts), nonce }, signed),
    ),
    "latin1",
  );
  return timingSafeEqual(Buffer.from(sig, "latin1"), expected) ? "valid" : "SIGNATURE_INVALID";
}
