import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { creatingWithReplicas, ensureStreamReplicas } from "../nats/replicas.js";
import { isRevisionConflict } from "./json-kv.js";

/** Remembers the nonces of signed requests, so that each is used once. */
export interface NonceStore {
  /**
   * Records `nonce` as used. Resolves true the first time, false when it was
   * already used within the store's lifetime: the request is a replay.
   */
  claim(nonce: string): Promise<boolean>;
}

/** Where the nonces live and for how long. */
export interface NonceStoreOptions {
  /** A connection to a NATS with JetStream enabled; instances that share it share the nonces. */
  nc: NatsConnection;
  /** How long a nonce is remembered; at least twice the signature window (see createApiSignatureVerifier). */
  ttlMs: number;
  /** Replicas of the bucket (`PNM_NATS_REPLICAS`); an existing bucket with fewer is raised to it. Default 1. */
  replicas?: number;
}

/**
 * Nonces in the NATS KV bucket `pnm-nonces`, whose entries expire after `ttlMs` (the
 * stream's max age). A claim is a KV create, which JetStream refuses when the
 * key exists, so a nonce is used once across every instance on that NATS,
 * with no race between them. An existing bucket that forgets sooner than
 * `ttlMs` (made by an instance with a shorter window) is given the longer
 * age: remembering longer is always safe.
 */
export async function createNonceStore({ nc, ttlMs, replicas = 1 }: NonceStoreOptions): Promise<NonceStore> {
  const kv = await creatingWithReplicas("bucket pnm-nonces", replicas, () =>
    new Kvm(nc).create("pnm-nonces", { history: 1, ttl: ttlMs, replicas }),
  );
  await ensureStreamReplicas(await jetstreamManager(nc), "KV_pnm-nonces", replicas);
  const status = await kv.status();
  if (status.ttl !== 0 && status.ttl < ttlMs) {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(status.streamInfo.config.name);
    await jsm.streams.update(info.config.name, { ...info.config, max_age: ttlMs * 1_000_000 });
  }
  const empty = new Uint8Array(0);
  return {
    async claim(nonce) {
      try {
        await kv.create(nonce, empty);
        return true;
      } catch (err) {
        if (isRevisionConflict(err)) return false;
        throw err;
      }
    },
  };
}
