/** When to renew an access token, in fractions of its lifetime (`exp` − `nbf`). */
export interface RenewalScheduleOptions {
  /** Fraction of the token's lifetime after which to renew; default 2/3. */
  at?: number;
  /** Spread, as a fraction of the lifetime, so that a room's participants do not renew in one burst; default 0.05. */
  jitter?: number;
  /** Source of the jitter, returning a number in [0, 1); default Math.random. */
  random?: () => number;
}

/**
 * Milliseconds from now until a token should be renewed, from its own `nbf`
 * and `exp` (not a fixed timer, as upstream's client uses).
 */
export function renewalDelayMs(
  claims: { nbf: number; exp: number },
  nowMs: number,
  options: RenewalScheduleOptions = {},
): number {
  const lifetimeMs = (claims.exp - claims.nbf) * 1000;
  const at = options.at ?? 2 / 3;
  const jitter = options.jitter ?? 0.05;
  const offset = ((options.random ?? Math.random)() * 2 - 1) * jitter * lifetimeMs;
  return Math.max(0, claims.nbf * 1000 + lifetimeMs * at + offset - nowMs);
}

/** The registered time claims of a JWT, read without verifying it (the server verifies). */
export function readTokenTimes(token: string): { nbf: number; exp: number } {
  const payload = token.split(".")[1] ?? "";
  const json = atob(
    payload
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "="),
  );
  const { nbf, exp } = JSON.parse(json) as { nbf?: unknown; exp?: unknown };
  if (typeof nbf !== "number" || typeof exp !== "number") throw new Error("token has no nbf/exp");
  return { nbf, exp };
}
