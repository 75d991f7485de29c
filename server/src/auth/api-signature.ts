import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from "node:crypto";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { failureInfo, pnmError } from "../errors.js";
import type { NonceStore } from "../store/nonce-store.js";
import type { ApiCredential, ApiKeyring } from "./api-keyring.js";
import { canonicalStringV2, parseSignatureV2, signatureV2Header, withinWindow } from "./signature-v2.js";

/**
 * Which signatures the server accepts: `v1-and-v2` (the default) takes
 * upstream's HASH-SIGNATURE and pnm's PNM-SIGNATURE, so upstream's SDKs keep
 * working; `v2-only` refuses requests signed with HASH-SIGNATURE alone.
 */
export type SignatureMode = "v1-and-v2" | "v2-only";

/** Every SignatureMode, for checking a setting. */
export const signatureModes: readonly SignatureMode[] = ["v1-and-v2", "v2-only"];

/** Default PNM-SIGNATURE window: a timestamp may be this far in the past or the future. */
export const defaultSignatureWindowMs = 5 * 60_000;

/** The keys, nonce store and rules a signature verifier works with. */
export interface ApiSignatureOptions {
  /** The active API key/secret pairs; API-KEY selects one. */
  keys: ApiKeyring;
  /** Where v2 nonces are claimed; it must remember them at least twice `windowMs`. */
  nonces: NonceStore;
  /** Default `v1-and-v2`. */
  mode?: SignatureMode;
  /** Default 5 minutes. */
  windowMs?: number;
  /** The clock, in milliseconds; default Date.now. */
  now?: () => number;
}

/**
 * What HASH-SIGNATURE covers on every protocol: the serialized request message
 * exactly as the client serialized it, uncompressed. `body`: the HTTP body is
 * the message (Connect unary, upstream's REST routes). `envelope`: the body is
 * one gRPC / gRPC-web message envelope, and only its payload is signed, not
 * the 5-byte prefix. PNM-SIGNATURE covers the SHA-256 of the same bytes.
 */
export type SignedFraming = "body" | "envelope";

/** The parts of the request a PNM-SIGNATURE binds besides the body. */
export interface SignedRequest {
  /** The HTTP method, e.g. POST. */
  method: string;
  /** The request path without the query string, as the server routes it. */
  path: string;
  /** Default `body`. */
  framing?: SignedFraming;
}

/** Checks a request's signature over its body as the body streams in. */
export interface BodySignatureCheck {
  /** Takes the next chunk of the body, as it arrives; throws the pnm error of a body that cannot be signed. */
  update(chunk: Uint8Array): void;
  /**
   * Resolves when the signature matches and, for PNM-SIGNATURE, its nonce had
   * not been used; rejects with the Unauthenticated pnm error otherwise.
   */
  finish(): Promise<void>;
}

/** Checks the API key and signature of server-to-server requests (HASH-SIGNATURE and PNM-SIGNATURE). */
export interface ApiSignatureVerifier {
  /**
   * Checks what the headers alone decide, in upstream's order (API-KEY, then
   * the signature's presence), then the form and freshness of a
   * PNM-SIGNATURE, so a request with a bad key or a stale timestamp is refused
   * before its body is read. A request whose message is compressed is refused
   * too: only uncompressed messages are signed.
   */
  begin(header: (name: string) => string | null | undefined, request: SignedRequest): BodySignatureCheck;
}

const lowerHex64 = /^[0-9a-f]{64}$/;
const invalidText = "Failed to verify provided authentication details.";

/**
 * Verifies HASH-SIGNATURE (upstream's v1: HMAC of the signed bytes) and
 * PNM-SIGNATURE (v2: HMAC of method, path, timestamp, nonce and the bytes'
 * digest; signature-v2.ts). A request carrying PNM-SIGNATURE is checked by it
 * alone. The checks that cost no write run first (key, timestamp, MAC) and the
 * nonce is claimed last, so forged requests cannot fill the nonce store.
 */
export function createApiSignatureVerifier(options: ApiSignatureOptions): ApiSignatureVerifier {
  const mode = options.mode ?? "v1-and-v2";
  const windowMs = options.windowMs ?? defaultSignatureWindowMs;
  const now = options.now ?? Date.now;
  return {
    begin(header, request) {
      const framing = request.framing ?? "body";
      const apiKey = header("api-key") ?? "";
      if (!apiKey) throw pnmError(FailureReason.API_KEY_MISSING, "Missing API-KEY header.");
      const credential = options.keys.lookup(apiKey);
      if (!credential) throw pnmError(FailureReason.API_KEY_INVALID, "Invalid API key provided.");
      const v2 = header(signatureV2Header) ?? "";
      const v1 = header("hash-signature") ?? "";
      if (!v2 && !v1) {
        throw pnmError(
          FailureReason.SIGNATURE_MISSING,
          mode === "v2-only" ? "Missing PNM-SIGNATURE header." : "Missing HASH-SIGNATURE header.",
        );
      }
      if (!v2 && mode === "v2-only") {
        throw pnmError(
          FailureReason.SIGNATURE_VERSION_REQUIRED,
          "this server requires PNM-SIGNATURE (signature v2); HASH-SIGNATURE alone is refused",
        );
      }
      // Upstream signs only the Room-Id header of multipart uploads; pnm keeps its
      // refusal of a missing Room-Id but signs the whole body like any other.
      if ((header("content-type") ?? "").includes("multipart/form-data") && !header("room-id")) {
        throw pnmError(FailureReason.SIGNATURE_MISSING, "Missing Room-Id header for multipart request.");
      }
      const encoding = (header("content-encoding") ?? "identity").trim().toLowerCase();
      if (framing === "body" && encoding !== "identity" && encoding !== "") throw compressedRefusal();
      return v2 ? beginV2(v2, credential, request, framing) : beginV1(v1, credential, framing);
    },
  };

  function beginV1(signature: string, credential: ApiCredential, framing: SignedFraming): BodySignatureCheck {
    const hmac: Hmac = createHmac("sha256", credential.secret);
    const signed = signedBytes(framing, (bytes) => void hmac.update(bytes));
    return {
      update: signed.update,
      async finish() {
        signed.finish();
        if (!lowerHex64.test(signature) || !sameText(signature, hmac.digest("hex"))) {
          throw pnmError(FailureReason.SIGNATURE_INVALID, invalidText);
        }
      },
    };
  }

  function beginV2(
    value: string,
    credential: ApiCredential,
    request: SignedRequest,
    framing: SignedFraming,
  ): BodySignatureCheck {
    const fields = parseSignatureV2(value);
    if (!fields) throw pnmError(FailureReason.SIGNATURE_INVALID, invalidText);
    if (!withinWindow(fields.timestamp, now(), windowMs)) {
      throw pnmError(
        FailureReason.SIGNATURE_EXPIRED,
        `the PNM-SIGNATURE timestamp is more than ${Math.round(windowMs / 1000)} s away from the server's clock`,
      );
    }
    const digest: Hash = createHash("sha256");
    const signed = signedBytes(framing, (bytes) => void digest.update(bytes));
    return {
      update: signed.update,
      async finish() {
        signed.finish();
        const canonical = canonicalStringV2({
          method: request.method,
          path: request.path,
          timestamp: fields.timestamp,
          nonce: fields.nonce,
          bodyDigest: digest.digest("hex"),
        });
        if (
          !sameText(fields.signature, createHmac("sha256", credential.secret).update(canonical, "utf8").digest("hex"))
        ) {
          throw pnmError(FailureReason.SIGNATURE_INVALID, invalidText);
        }
        if (!(await claimNonce(options.nonces, fields.nonce))) {
          throw pnmError(
            FailureReason.SIGNATURE_REPLAYED,
            "the PNM-SIGNATURE nonce was already used: the request is a replay",
          );
        }
      },
    };
  }
}

/**
 * Claims a v2 nonce. The bucket without a leader (a NATS node of a cluster
 * just died) answers nobody: that is NATS_UNAVAILABLE, which the caller may
 * retry, on every protocol, before the body reaches Connect.
 */
async function claimNonce(nonces: NonceStore, nonce: string): Promise<boolean> {
  try {
    return await nonces.claim(nonce);
  } catch (err) {
    const info = failureInfo(err);
    if (info.reason === FailureReason.NATS_UNAVAILABLE) throw pnmError(info.reason, info.message, [], err);
    throw err;
  }
}

/** Constant-time equality of two ASCII strings (hex digests here); unequal lengths differ at once, which reveals only the length. */
function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given, "latin1");
  const b = Buffer.from(expected, "latin1");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The signed bytes of a body as it streams in: the body itself, or the payload of its one message envelope. */
function signedBytes(
  framing: SignedFraming,
  onBytes: (bytes: Uint8Array) => void,
): { update(chunk: Uint8Array): void; finish(): void } {
  return framing === "envelope" ? envelopePayload(onBytes) : { update: onBytes, finish: () => {} };
}

function compressedRefusal(): Error {
  return pnmError(
    FailureReason.BODY_MALFORMED,
    "a signed request must not be compressed: its signature covers the uncompressed message",
  );
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
  const malformed = (text: string) =>
    pnmError(FailureReason.BODY_MALFORMED, `request body could not be decoded: ${text}`);
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
        if (messages === 1 && prefixFilled === 0)
          throw malformed("a unary request carries exactly one message envelope");
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
