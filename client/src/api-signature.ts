const encoder = new TextEncoder();

/** HASH-SIGNATURE for a body: lower-case hex HMAC-SHA256 keyed with the API secret (WebCrypto, so browsers and Node agree). */
export async function signBody(apiSecret: string, body: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(apiSecret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}
