/** A rate: `ratePerSecond` on average, up to `burst` at once. */
export interface RateLimit {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** The most tokens a bucket holds: what may be spent at once after a quiet spell. */
  burst: number;
}

/** One token bucket per key (a participant), created full on first use. */
export interface TokenBuckets {
  /** Takes one token from `key`'s bucket; false when it is empty (the caller refuses). */
  take(key: string): boolean;
  /** Buckets in memory; full ones are forgotten once a minute. */
  readonly size: number;
}

const sweepEveryMs = 60_000;

/**
 * Token buckets keyed by participant. A bucket that has refilled completely
 * is the same as no bucket, so full ones are dropped now and then and memory
 * follows the participants that were active in the last minute.
 */
export function createTokenBuckets(limit: RateLimit, now: () => number = Date.now): TokenBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = now();
  const refill = (bucket: { tokens: number; at: number }, t: number) => {
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((t - bucket.at) / 1000) * limit.ratePerSecond);
    bucket.at = t;
  };
  return {
    take(key) {
      const t = now();
      if (t - lastSweep >= sweepEveryMs) {
        lastSweep = t;
        for (const [k, bucket] of buckets) {
          refill(bucket, t);
          if (bucket.tokens >= limit.burst) buckets.delete(k);
        }
      }
      let bucket = buckets.get(key);
      if (bucket) refill(bucket, t);
      else {
        bucket = { tokens: limit.burst, at: t };
        buckets.set(key, bucket);
      }
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    get size() {
      return buckets.size;
    },
  };
}
