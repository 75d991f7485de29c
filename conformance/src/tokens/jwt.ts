import { createHmac } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";

export type { JsonObject };

const hashes: Record<string, string> = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };

function base64url(bytes: string | Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** A JSON object as a JWS segment: JSON, base64url without padding. */
export function encodeSegment(value: JsonObject): string {
  return base64url(JSON.stringify(value));
}

/**
 * Signs a compact JWS with an HMAC chosen by `signWith`, whatever the header
 * says: cases forge tokens whose header lies about their algorithm.
 * `none` leaves the signature empty.
 */
export function signCompact(header: JsonObject, claims: JsonObject, secret: string, signWith: string): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  if (signWith === "none") return `${signingInput}.`;
  const hash = hashes[signWith];
  if (!hash) throw new RangeError(`cannot sign with ${signWith}; use HS256, HS384, HS512 or none`);
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest("base64url")}`;
}

/** The algorithm a header names, when it is one this module can sign with; else HS256. */
export function hmacFor(alg: unknown): string {
  return typeof alg === "string" && (alg in hashes || alg === "none") ? alg : "HS256";
}

/** Header and claims of a compact JWS, without any verification; undefined when it is not one. */
export function decodeCompact(
  token: string,
): { header: JsonObject; claims: JsonObject; signature: string } | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const header = parseSegment(parts[0]!);
  const claims = parseSegment(parts[1]!);
  return header && claims ? { header, claims, signature: parts[2]! } : undefined;
}

/** A base64url segment decoded as a JSON object; undefined when it is not one. */
export function parseSegment(segment: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}
