const base64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A JWT with these claims and no real signature: the client only reads nbf and exp, the server verifies. */
export const unsignedJwt = (claims: Record<string, unknown>): string =>
  `${base64url({ alg: "HS256" })}.${base64url(claims)}.sig`;
