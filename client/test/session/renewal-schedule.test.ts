import { describe, expect, it } from "vitest";
import { readTokenTimes, renewalDelayMs } from "../../src/session/renewal-schedule.js";
import { unsignedJwt } from "./unsigned-jwt.js";

describe("renewal schedule", () => {
  const claims = { nbf: 1_000, exp: 1_600 }; // a 10-minute token

  it("renews at two thirds of the token's own lifetime", () => {
    expect(renewalDelayMs(claims, 1_000_000, { random: () => 0.5 })).toBe(400_000);
    expect(renewalDelayMs(claims, 1_100_000, { random: () => 0.5 })).toBe(300_000);
  });

  it("spreads renewals by the jitter, both ways", () => {
    expect(renewalDelayMs(claims, 1_000_000, { random: () => 0 })).toBe(400_000 - 30_000);
    expect(renewalDelayMs(claims, 1_000_000, { random: () => 1 })).toBe(400_000 + 30_000);
  });

  it("renews at once when the moment has passed", () => {
    expect(renewalDelayMs(claims, 1_590_000, { random: () => 0.5 })).toBe(0);
  });

  it("reads nbf and exp from a token, and refuses one without them", () => {
    expect(readTokenTimes(unsignedJwt({ nbf: 5, exp: 65, name: "ü" }))).toEqual({ nbf: 5, exp: 65 });
    expect(() => readTokenTimes(unsignedJwt({ nbf: 5 }))).toThrow();
  });
});
