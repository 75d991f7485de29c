import { createHash, createHmac, createSecretKey, timingSafeEqual, type Hmac } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";

export interface ApiSignatureOptions {
  apiKey: string;
  apiSecret: string;
}

/**
 * What HASH-SIGNATURE covers on every protocol: the serialized request message
 * exactly as the client serialized it, uncompressed. `body`: the HTTP body is
 * the message (Connect unary, upstream's REST routes). `envelope`: the body is
 * one gRPC / gRPC-web message envelope, and only its payload is signed, not
 * the 5-byte prefix.
 */
export type SignedFraming = "body" | "envelope";

/** Computes HASH-SIGNATURE over a body as it streams in, and checks it at the end. */
export interface BodySignatureCheck {
  update(chunk: Uint8Array): void;
  /** Throws the Unauthenticated pnm error when the signature does not match. */
  finish(): void;
}

export interface ApiSignatureVerifier {
  /**
   * Checks API-KEY and the presence of HASH-SIGNATURE in upstream's order, so
   * a request with a bad key is refused before its body is read. A request
   * whose message is compressed is refused too: only uncompressed messages
   * are signed.
   */
  begin(header: (name: string) => string | null | undefined, framing?: SignedFraming): BodySignatureCheck;
}

const lowerHex64 = /^[0-9a-f]{64}$/;

export function createApiSignatureVerifier(options: ApiSignatureOptions): ApiSignatureVerifier {
  const keyDigest = sha256(options.apiKey);
  // Imported once: converting the secret on every request costs more than the MAC of a small body.
  const secret = createSecretKey(Buffer.from(options.apiSecret, "utf8"));
  return {
    begin(header, framing = "body") {
      const apiKey = header("api-key") ?? "";
      if (!apiKey) throw pnmError(FailureReason.API_KEY_MISSING, "Missing API-KEY header.");
      // Digests have equal length, so the comparison time does not depend on the key.
      if (!timingSafeEqual(sha256(apiKey), keyDigest)) {
        throw pnmError(FailureReason.API_KEY_INVALID, "Invalid API key provided.");
      }
      const signature = header("hash-signature") ?? "";
      if (!signature) throw pnmError(FailureReason.SIGNATURE_MISSING, "Missing HASH-SIGNATURE header.");
      // Upstream signs only the Room-Id header of multipart uploads; pnm keeps its
      // refusal of a missing Room-Id but signs the whole body like any other.
      if ((header("content-type") ?? "").includes("multipart/form-data") && !header("room-id")) {
        throw pnmError(FailureReason.SIGNATURE_MISSING, "Missing Room-Id header for multipart request.");
      }
      const encoding = (header("content-encoding") ?? "identity").trim().toLowerCase();
      if (framing === "body" && encoding !== "identity" && encoding !== "") throw compressedRefusal();
      const hmac: Hmac = createHmac("sha256", secret);
      const payload = framing === "envelope" ? envelopePayload((bytes) => void hmac.update(bytes)) : undefined;
      return {
        update: (chunk) => (payload ? payload.update(chunk) : void hmac.update(chunk)),
        finish() {
          payload?.finish();
          const expected = Buffer.from(hmac.digest("hex"), "latin1");
          const given = Buffer.from(signature, "latin1");
          if (!lowerHex64.test(signature) || !timingSafeEqual(given, expected)) {
            throw pnmError(FailureReason.SIGNATURE_INVALID, "Failed to verify provided authentication details.");
          }
        },
      };
    },
  };
}

function compressedRefusal(): Error {
  return pnmError(FailureReason.BODY_MALFORMED, "a signed request must not be compressed: HASH-SIGNATURE covers the uncompressed message");
}

/**
 * Reads a unary gRPC / gRPC-web body as it streams in (flags byte, 4-byte
 * big-endian length, message) and hands on the message bytes only. The body
 * must be exactly one uncompressed message envelope.
 */
function envelopePayload(onPayload: (bytes: Uint8Array) => void): { update(chunk: Uint8Array): void; finish(): void } {
  const prefix = new Uint8Array(5);
  let prefixFilled = 0;
  let remaining = 0;
  let messages = 0;
  const malformed = (text: string) => pnmError(FailureReason.BODY_MALFORMED, `request body could not be decoded: ${text}`);
  return {
    update(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - offset);
          onPayload(chunk.subarray(offset, offset + take));
          remaining -= take;
          offset += take;
          continue;
        }
        if (messages === 1 && prefixFilled === 0) throw malformed("a unary request carries exactly one message envelope");
        const take = Math.min(5 - prefixFilled, chunk.length - offset);
        prefix.set(chunk.subarray(offset, offset + take), prefixFilled);
        prefixFilled += take;
        offset += take;
        if (prefixFilled < 5) continue;
        const flags = prefix[0]!;
        if (flags & 0x80) throw malformed("a request cannot carry trailers");
        if (flags & 0x01) throw compressedRefusal();
        remaining = new DataView(prefix.buffer).getUint32(1);
        messages = 1;
        prefixFilled = 0;
      }
    },
    finish() {
      if (messages === 0 || prefixFilled > 0 || remaining > 0) throw malformed("truncated message envelope");
    },
  };
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
