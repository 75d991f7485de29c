import { createHmac } from "node:crypto";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Builds a JWT by hand, so tests can produce every kind of bad token. */
export function forgeJwt(header: object, payload: object, secret: string, algorithm = "sha256"): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(algorithm, secret).update(input).digest("base64url")}`;
}

export function decodeJwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}
