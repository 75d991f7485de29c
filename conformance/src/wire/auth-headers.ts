import { randomBytes } from "node:crypto";
import { type SignedFraming, signatureHex, signedBytes } from "../signature.js";
import { canonicalV2, headerV2, macV2, signatureV2HeaderName } from "../signature-v2.js";
import type { AuthFault } from "./call-types.js";

/** The API key and secret of the server under test. */
export interface Credentials {
  /** Sent in API-KEY. */
  apiKey: string;
  /** Keys the signature. */
  apiSecret: string;
}

/** What a PNM-SIGNATURE binds besides the body: the request's method and path (without query). */
export interface SignedRoute {
  /** The HTTP method, e.g. POST. */
  method: string;
  /** The path as sent, without the query string. */
  path: string;
}

/**
 * API-KEY and the signature for a request `body` sent with `framing` to
 * `route`: HASH-SIGNATURE, or PNM-SIGNATURE (with the harness's clock, skewed
 * as asked, and a fresh random nonce) for `version: 2`, spoiled as `fault`
 * says; a header mapped to undefined is left out.
 */
export function authHeaders(
  credentials: Credentials,
  body: Uint8Array,
  framing: SignedFraming,
  fault: AuthFault,
  route: SignedRoute,
): Record<string, string | undefined> {
  const apiKey = apiKeyHeader(credentials.apiKey, fault.apiKey);
  if (fault.version !== 2) {
    return {
      "API-KEY": apiKey,
      "HASH-SIGNATURE": signatureHeader(credentials, body, framing, fault.signature, (secret, signed) =>
        signatureHex(secret, signed),
      ),
    };
  }
  if (fault.header !== undefined) return { "API-KEY": apiKey, [signatureV2HeaderName]: fault.header };
  const request = {
    ...route,
    timestamp: Math.floor(Date.now() / 1000) + (fault.skewSeconds ?? 0),
    nonce: randomBytes(16).toString("base64url"),
  };
  const sig = signatureHeader(credentials, body, framing, fault.signature, (secret, signed) =>
    macV2(secret, canonicalV2(request, signed)),
  );
  return { "API-KEY": apiKey, [signatureV2HeaderName]: sig === undefined || sig === "" ? sig : headerV2(request, sig) };
}

function apiKeyHeader(apiKey: string, fault: AuthFault["apiKey"]): string | undefined {
  switch (fault) {
    case undefined:
      return apiKey;
    case "missing":
      return undefined;
    case "empty":
      return "";
    case "wrong":
      return `${apiKey}-not`;
    case "case-changed": {
      // Keys are compared exactly: flipping one letter's case must fail like any other wrong key.
      const i = apiKey.search(/[A-Za-z]/);
      if (i < 0) return `${apiKey}x`;
      const c = apiKey[i]!;
      return apiKey.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + apiKey.slice(i + 1);
    }
  }
}

/** The signature's hex (HASH-SIGNATURE, or PNM-SIGNATURE's `sig`) by `mac`, spoiled as `fault` says. */
function signatureHeader(
  credentials: Credentials,
  body: Uint8Array,
  framing: SignedFraming,
  fault: AuthFault["signature"],
  mac: (secret: string, signed: Uint8Array) => string,
): string | undefined {
  const signed = signedBytes(body, framing);
  const valid = mac(credentials.apiSecret, signed);
  switch (fault) {
    case undefined:
      return valid;
    case "missing":
      return undefined;
    case "empty":
      return "";
    case "upper-case":
      return valid.toUpperCase();
    case "other-secret":
      return mac(`${credentials.apiSecret}-other`, signed);
    case "truncated":
      return valid.slice(0, -1);
    case "extra-digit":
      return `${valid}0`;
    case "not-hex":
      return "z".repeat(valid.length);
    case "other-body":
      return mac(credentials.apiSecret, Buffer.concat([signed, Buffer.from(" ")]));
    case "whole-frame":
      // The signature over the whole body, envelope prefix included: what gRPC clients once had to sign.
      return mac(credentials.apiSecret, body);
  }
}
