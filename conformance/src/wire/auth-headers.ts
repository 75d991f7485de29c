import { type SignedFraming, signatureHex, signedBytes } from "../signature.js";
import type { AuthFault } from "./call-types.js";

export interface Credentials {
  apiKey: string;
  apiSecret: string;
}

/**
 * API-KEY and HASH-SIGNATURE for a request `body` sent with `framing`, spoiled
 * as `fault` says; a header mapped to undefined is left out.
 */
export function authHeaders(credentials: Credentials, body: Uint8Array, framing: SignedFraming, fault: AuthFault): Record<string, string | undefined> {
  return { "API-KEY": apiKeyHeader(credentials.apiKey, fault.apiKey), "HASH-SIGNATURE": signatureHeader(credentials, body, framing, fault.signature) };
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

function signatureHeader(credentials: Credentials, body: Uint8Array, framing: SignedFraming, fault: AuthFault["signature"]): string | undefined {
  const signed = signedBytes(body, framing);
  const valid = signatureHex(credentials.apiSecret, signed);
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
      return signatureHex(`${credentials.apiSecret}-other`, signed);
    case "truncated":
      return valid.slice(0, -1);
    case "extra-digit":
      return `${valid}0`;
    case "not-hex":
      return "z".repeat(valid.length);
    case "other-body":
      return signatureHex(credentials.apiSecret, Buffer.concat([signed, Buffer.from(" ")]));
    case "whole-frame":
      // The signature over the whole body, envelope prefix included: what gRPC clients once had to sign.
      return signatureHex(credentials.apiSecret, body);
  }
}
