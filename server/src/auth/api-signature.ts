import { createHash, createHmac, createSecretKey, timingSafeEqual, type Hmac } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { pnmError } from "../errors.js";

export interface ApiSignatureOptions {
  apiKey: string;
  apiSecret: string;
}

/** Computes HASH-SIGNATURE over a body as it streams in, and checks it at the end. */
export interface BodySignatureCheck {
  update(chunk: Uint8Array): void;
  /** Throws the Unauthenticated pnm error when the signature does not match. */
  finish(): void;
}

export interface ApiSignatureVerifier {
  /**
   * Checks API-KEY and the presence of HASH-SIGNATURE in upstream's order, so
   * a request with a bad key is refused before its body is read.
   */
  begin(header: (name: string) => string | null | undefined): BodySignatureCheck;
}

const lowerHex64 = /^[0-9a-f]{64}$/;

export function createApiSignatureVerifier(options: ApiSignatureOptions): ApiSignatureVerifier {
  const keyDigest = sha256(options.apiKey);
  // Imported once: converting the secret on every request costs more than the MAC of a small body.
  const secret = createSecretKey(Buffer.from(options.apiSecret, "utf8"));
  return {
    begin(header) {
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
      const hmac: Hmac = createHmac("sha256", secret);
      return {
        update: (chunk) => void hmac.update(chunk),
        finish() {
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

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
