import { createHmac, timingSafeEqual } from "node:crypto";

/** HASH-SIGNATURE: lower-case hex HMAC-SHA256 of the signed bytes, keyed with the API secret's UTF-8 bytes. */
export function signatureHex(secret: string, signed: string | Uint8Array): string {
  return createHmac("sha256", secret).update(signed).digest("hex");
}

/**
 * How the signed message sits in a request body. `body`: the body is the
 * message (Connect unary, upstream's REST routes). `envelope`: the body is one
 * gRPC / gRPC-web message envelope (flags byte, 4-byte big-endian length,
 * message).
 */
export type SignedFraming = "body" | "envelope";

/** A body that cannot carry a signed request: compressed, or not exactly one message envelope. */
export class UnsignableBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsignableBodyError";
  }
}

/**
 * The bytes HASH-SIGNATURE covers on every protocol: the serialized request
 * message exactly as the client serialized it, uncompressed. For `envelope`
 * that is the payload without the 5-byte prefix; a compressed envelope (flag
 * 0x01) or a body that is not exactly one envelope cannot be signed.
 */
export function signedBytes(body: Uint8Array, framing: SignedFraming): Uint8Array {
  if (framing === "body") return body;
  if (body.length < 5) throw new UnsignableBodyError("truncated message envelope");
  const length = new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0);
  if (body.length < 5 + length) throw new UnsignableBodyError("truncated message envelope");
  if (body.length > 5 + length) throw new UnsignableBodyError("a unary request carries exactly one message envelope");
  if (body[0]! & 0x80) throw new UnsignableBodyError("a request cannot carry trailers");
  if (body[0]! & 0x01) throw new UnsignableBodyError("a signed request must not be compressed");
  return body.subarray(5);
}

/** The framing of a request body with this content type: gRPC and gRPC-web bodies are envelopes. */
export function framingOf(contentType: string | undefined): SignedFraming {
  return /^application\/grpc(-web)?([+;]|$)/i.test((contentType ?? "").trim()) ? "envelope" : "body";
}

/**
 * The contract's check of a HASH-SIGNATURE value for a request body: byte-exact
 * against the lower-case hex of the signed bytes, so upper-case hex fails as it
 * does upstream. A body that cannot be signed is refused as BODY_MALFORMED.
 */
export function verifySignatureHeader(
  secret: string,
  body: string | Uint8Array,
  header: string,
  framing: SignedFraming = "body",
): "valid" | "SIGNATURE_MISSING" | "SIGNATURE_INVALID" | "BODY_MALFORMED" {
  if (header === "") return "SIGNATURE_MISSING";
  let signed: Uint8Array;
  try {
    signed = signedBytes(typeof body === "string" ? Buffer.from(body, "utf8") : body, framing);
  } catch (err) {
    if (err instanceof UnsignableBodyError) return "BODY_MALFORMED";
    throw err;
  }
  const expected = Buffer.from(signatureHex(secret, signed), "latin1");
  const given = Buffer.from(header, "latin1");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "SIGNATURE_INVALID";
}
