import type { JsonKv } from "./json-kv.js";

/** A round trip to NATS a JsonKv makes: each call of one of its methods is one. */
export type KvOperation = "get" | "create" | "update" | "put" | "delete" | "keys";

/**
 * `kv` with every round trip to NATS reported to `count` before it is made,
 * so that what a connect or a disconnect costs in KV traffic is counted
 * rather than estimated (`pnm_store_operations_total`).
 */
export function countedKv<T>(kv: JsonKv<T>, count: (operation: KvOperation) => void): JsonKv<T> {
  const counted = <R>(operation: KvOperation, call: () => R): R => {
    count(operation);
    return call();
  };
  return {
    get: (key) => counted("get", () => kv.get(key)),
    create: (key, value) => counted("create", () => kv.create(key, value)),
    update: (key, value, revision) => counted("update", () => kv.update(key, value, revision)),
    put: (key, value) => counted("put", () => kv.put(key, value)),
    delete: (key) => counted("delete", () => kv.delete(key)),
    keys: (filter) => counted("keys", () => kv.keys(filter)),
  };
}
