import { createHmac } from "node:crypto";

export interface RestAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export function hmacHex(secret: string, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** POSTs a raw body to an upstream REST route with the given headers. */
export async function postRaw(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<RestAnswer> {
  const res = await fetch(baseUrl + path, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { unparsable: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** POSTs JSON signed with the secret, as upstream's SDKs do. */
export function postSigned(
  baseUrl: string,
  path: string,
  payload: unknown,
  apiKey: string,
  apiSecret: string,
): Promise<RestAnswer> {
  const body = JSON.stringify(payload);
  return postRaw(baseUrl, path, body, { "API-KEY": apiKey, "HASH-SIGNATURE": hmacHex(apiSecret, body) });
}
