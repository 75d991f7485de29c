import { describe, expect, it } from "vitest";
import { createTokenBuckets } from "../../src/plane/rate-limits.js";

describe("createTokenBuckets", () => {
  it("gives each key its burst at once, then the rate, and keeps keys apart", () => {
    let now = 0;
    const buckets = createTokenBuckets({ ratePerSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3, 4].map(() => buckets.take("a"))).toEqual([true, true, true, false]);
    expect(buckets.take("b")).toBe(true);
    now += 499;
    expect(buckets.take("a")).toBe(false);
    now += 1; // half a second: one token
    expect([buckets.take("a"), buckets.take("a")]).toEqual([true, false]);
    now += 10_000; // refills to the burst, not beyond
    expect([1, 2, 3, 4].map(() => buckets.take("a"))).toEqual([true, true, true, false]);
  });

  it("forgets buckets that have refilled, once a minute, so memory follows the active keys", () => {
    let now = 0;
    const buckets = createTokenBuckets({ ratePerSecond: 1, burst: 2 }, () => now);
    for (let i = 0; i < 100; i++) buckets.take(`idle-${i}`);
    now += 59_000;
    buckets.take("busy");
    expect(buckets.size).toBe(101);
    now += 1_000;
    buckets.take("busy");
    expect(buckets.size).toBe(1);
  });
});
