const encoder = new TextEncoder();

/** HASH-SIGNATURE for a body: lower-case hex HMAC-SHA256 keyed with the API secret (WebCrypto, so browsers and Node agree). */
export async function signBody(apiSecret: string, body: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(await hmacSha256(apiSecret, body));
}

/** What a PNM-SIGNATURE (signature v2) binds: the route, the time, a nonce and the signed bytes. */
export interface SignatureV2Input {
  /** The HTTP method, e.g. `POST`. */
  method: string;
  /** The request path without the query string, e.g. `/pnm.v1.RoomService/EndRoom` or `/auth/room/endRoom`. */
  path: string;
  /** Unix time in whole seconds; the server refuses one more than its window (5 minutes by default) away from its clock. */
  timestamp: number;
  /** 16 to 64 characters of `A-Z a-z 0-9 _ -`, never used twice. */
  nonce: string;
  /** The signed bytes, by HASH-SIGNATURE's rule: the message as serialized, without a gRPC envelope's 5-byte prefix. */
  message: Uint8Array<ArrayBuffer>;
}

/**
 * The string a PNM-SIGNATURE's MAC covers: six lines joined by `\n`, no
 * trailing newline: `PNM-HMAC-SHA256-V2`, the method, the path, the
 * timestamp, the nonce and the lower-case hex SHA-256 of the message.
 */
export async function canonicalStringV2(input: SignatureV2Input): Promise<string> {
  const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", input.message)));
  return [
    "PNM-HMAC-SHA256-V2",
    input.method.toUpperCase(),
    input.path,
    String(input.timestamp),
    input.nonce,
    digest,
  ].join("\n");
}

/**
 * The PNM-SIGNATURE header value: `v2;ts=<timestamp>;nonce=<nonce>;sig=<hex>`,
 * where sig is the lower-case hex HMAC-SHA256, keyed with the API secret, of
 * `canonicalStringV2(input)`.
 */
export async function signV2(apiSecret: string, input: SignatureV2Input): Promise<string> {
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0)
    throw new Error("the timestamp is whole Unix seconds");
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(input.nonce)) throw new Error("a nonce is 16 to 64 characters of A-Z a-z 0-9 _ -");
  const sig = hex(await hmacSha256(apiSecret, encoder.encode(await canonicalStringV2(input))));
  return `v2;ts=${input.timestamp};nonce=${input.nonce};sig=${sig}`;
}

/** A fresh nonce: 16 random bytes (128 bits), base64url without padding, 22 characters. */
export function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function hmacSha256(secret: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
