import { createHmac, timingSafeEqual } from "node:crypto";

/** HASH-SIGNATURE: lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the API secret's UTF-8 bytes. */
export function signatureHex(secret: string, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * The contract's check of a HASH-SIGNATURE value: byte-exact against the
 * lower-case hex, so upper-case hex fails as it does upstream.
 */
export function verifySignatureHeader(secret: string, body: string | Uint8Array, header: string): "valid" | "SIGNATURE_MISSING" | "SIGNATURE_INVALID" {
  if (header === "") return "SIGNATURE_MISSING";
  const expected = Buffer.from(signatureHex(secret, body), "latin1");
  const given = Buffer.from(header, "latin1");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "SIGNATURE_INVALID";
}
