import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";

/** A stored value and the KV revision it was read or written at. */
export interface Versioned<T> {
  /** The document. */
  value: T;
  /** The key's revision, to pass to `update`. */
  revision: number;
}

/** A KV bucket of JSON documents, with the revision kept for compare-and-set. */
export interface JsonKv<T> {
  /** The key's current value, or undefined when it is absent or deleted. */
  get(key: string): Promise<Versioned<T> | undefined>;
  /** Fails with a revision conflict (isRevisionConflict) when the key exists. */
  create(key: string, value: T): Promise<number>;
  /** Fails with a revision conflict (isRevisionConflict) when the revision is not the latest. */
  update(key: string, value: T, revision: number): Promise<number>;
  /** Writes whatever the key holds now, without a revision check; resolves to the new revision. */
  put(key: string, value: T): Promise<number>;
  /** Deletes the key (a delete marker: `get` answers undefined). */
  delete(key: string): Promise<void>;
  /** Every key, or those matching a NATS subject filter (`room.*`, `room.>`). */
  keys(filter?: string): Promise<string[]>;
}

/** A JSON view of a KV bucket; values are JSON.stringify'd UTF-8. */
export function createJsonKv<T>(kv: KV): JsonKv<T> {
  const encode = (value: T) => new TextEncoder().encode(JSON.stringify(value));
  return {
    async get(key) {
      const entry = await kv.get(key);
      if (entry?.operation !== "PUT") return undefined;
      return { value: entry.json<T>(), revision: entry.revision };
    },
    create: (key, value) => kv.create(key, encode(value)),
    update: (key, value, revision) => kv.update(key, encode(value), revision),
    put: (key, value) => kv.put(key, encode(value)),
    delete: (key) => kv.delete(key),
    async keys(filter) {
      const out: string[] = [];
      for await (const key of await kv.keys(filter)) out.push(key);
      return out;
    },
  };
}

/**
 * True for JetStream's refusal of a write whose expected last sequence is not
 * the key's latest revision: a compare-and-set that lost a race. Both codes
 * mean that refusal, as @nats-io/kv's own create() reads them.
 */
export function isRevisionConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
