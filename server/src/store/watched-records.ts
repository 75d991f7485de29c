import { type KV, type KvEntry, KvWatchInclude } from "@nats-io/kv";
import type { JsonKv, Versioned } from "./json-kv.js";

/** Reads of a bucket served from memory where it can, from the KV where it must. */
export interface WatchedRecords<T> {
  /**
   * The key's value as this process last saw it: read, written, or changed
   * by any instance and announced by the bucket's watch. May trail the KV by
   * the watch's delay, so a decision that refuses (or would lose state) must
   * be made again on a fresh read; a key not seen yet is read from the KV.
   */
  get(key: string): Promise<Versioned<T> | undefined>;
  /** What `get` would answer without a read: undefined when the key is absent or not seen yet. */
  latest(key: string): Versioned<T> | undefined;
  /** Tells the records what a read or write of this process found; an older revision than the one seen changes nothing. */
  learn(key: string, entry: Versioned<T> | undefined): void;
}

/**
 * What is known of a key: present or not, at which revision (0: a read that
 * found nothing). The watch's values are parsed only when asked for: most
 * changes to a large record are never read here.
 */
interface Known<T> {
  revision: number;
  value?: () => T;
}

// A bound on memory: a long-lived server sees ever more keys; forgetting them only costs reads.
const defaultLimit = 50_000;

/** How much of the bucket the records hold. */
export interface WatchRecordsOptions {
  /**
   * Replay the bucket's every key at the start (the call resolves once the
   * replay is through), so that a key not seen is absent and answered without
   * a read, for as long as the watch runs and the bucket holds at most
   * `limit` keys. For a small bucket that is read for keys mostly absent (the
   * blocklist: every new user is looked up). Default false: changes from now
   * on only.
   */
  whole?: boolean;
  /**
   * Keys held at most (default 50,000). Past it everything held is forgotten
   * and read again as asked for, and a whole bucket is no longer taken as
   * whole: an unseen key is read.
   */
  limit?: number;
}

/**
 * Follows every change to `kv` from now on and answers from what it has
 * seen, reading through `reads` for a key it has not (unless `whole`).
 * Revisions decide between reads, writes and the watch: the later one wins,
 * so an older answer never replaces a newer one. Forgets everything when the
 * watch ends (the connection closed): from then on every get reads the KV.
 */
export async function watchRecords<T>(
  kv: KV,
  reads: JsonKv<T>,
  options: WatchRecordsOptions = {},
): Promise<WatchedRecords<T>> {
  const known = new Map<string, Known<T>>();
  const limit = options.limit ?? defaultLimit;
  let watching = true;
  // Whether a key missing from `known` is absent from the bucket; never again once keys were forgotten.
  let complete = false;
  let forgotten = false;
  const remember = (key: string, next: Known<T>) => {
    if (!watching) return;
    const previous = known.get(key);
    if (previous && previous.revision >= next.revision) return;
    if (known.size >= limit && !previous) {
      known.clear();
      complete = false;
      forgotten = true;
    }
    known.set(key, next);
  };
  const fromEntry = (entry: KvEntry): Known<T> => {
    if (entry.operation !== "PUT") return { revision: entry.revision };
    let parsed: T | undefined;
    return { revision: entry.revision, value: () => (parsed ??= entry.json<T>()) };
  };
  const versioned = (seen: Known<T>): Versioned<T> | undefined =>
    seen.value ? { value: seen.value(), revision: seen.revision } : undefined;
  const learn = (key: string, entry: Versioned<T> | undefined) =>
    remember(key, entry ? { revision: entry.revision, value: () => entry.value } : { revision: 0 });

  // A whole replay is through at the first entry with nothing pending after it, or at once for an empty bucket:
  // with history 1 every key keeps a message (a delete leaves a marker), so a bucket with messages replays one.
  let replayDone: (() => void) | undefined;
  const replayed =
    options.whole && (await kv.status()).values > 0
      ? new Promise<void>((resolve) => (replayDone = resolve))
      : undefined;
  const updates = await kv.watch({ include: options.whole ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const entry of updates) {
      remember(entry.key, fromEntry(entry));
      if (entry.delta === 0) replayDone?.();
    }
  })()
    .catch(() => undefined)
    .finally(() => {
      watching = false;
      complete = false;
      known.clear();
      replayDone?.();
    });
  if (options.whole) {
    await replayed;
    complete = watching && !forgotten;
  }
  return {
    async get(key) {
      const seen = known.get(key);
      if (seen) return versioned(seen);
      if (complete) return undefined;
      const entry = await reads.get(key);
      learn(key, entry);
      return entry;
    },
    latest(key) {
      const seen = known.get(key);
      return seen && versioned(seen);
    },
    learn,
  };
}
