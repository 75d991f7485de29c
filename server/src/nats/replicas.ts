import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";

/** JetStream allows at most 5 replicas of a stream. */
export const maxReplicas = 5;

/** NATS refused to give a bucket or stream the replicas pnm was asked for; the message says what to do. */
export class NatsReplicasError extends Error {
  override readonly name = "NatsReplicasError";
}

/**
 * The replica count for every bucket and stream pnm creates: `configured`
 * (`PNM_NATS_REPLICAS`) when set, else 3 when the connected server is part of
 * a cluster that lists at least 3 servers (the `cluster` and `connect_urls`
 * of its INFO), else 1. Clustered nodes all run JetStream in pnm's
 * configuration; a cluster with JetStream on fewer nodes needs the setting.
 */
export function resolveReplicas(nc: NatsConnection, configured?: number): number {
  if (configured !== undefined) return configured;
  const info = nc.info;
  if (!info?.cluster) return 1;
  const servers = new Set(info.connect_urls ?? []);
  return servers.size >= 3 ? 3 : 1;
}

/**
 * Gives stream `name` (a KV bucket is stream `KV_<bucket>`) at least
 * `replicas` replicas: nats-server 2.10 changes a stream's replica count in
 * place. Never lowers it. A refusal is a NatsReplicasError whose one-line
 * message names the stream and the way out.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, name: string, replicas: number): Promise<void> {
  const info = await jsm.streams.info(name);
  const current = info.config.num_replicas || 1;
  if (current >= replicas) return;
  try {
    await jsm.streams.update(name, { ...info.config, num_replicas: replicas });
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new NatsReplicasError(
      `NATS stream ${name} has ${current} replica(s) and refused to go to ${replicas} (${why}): give the cluster at least ${replicas} JetStream nodes, or raise it yourself (nats stream edit ${name} --replicas ${replicas}), or set PNM_NATS_REPLICAS=${current}`,
      { cause },
    );
  }
}

/**
 * Runs `create`, which makes stream or bucket `name` with `replicas`
 * replicas; NATS's refusal (too few JetStream nodes for that many replicas:
 * "no suitable peers for placement", "insufficient resources") becomes a
 * NatsReplicasError that says what to do.
 */
export async function creatingWithReplicas<T>(name: string, replicas: number, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    if (replicas <= 1 || !/peers|placement|insufficient|resources|replicas/i.test(why)) throw cause;
    throw new NatsReplicasError(
      `NATS could not place ${name} with ${replicas} replicas (${why}): wait until all ${replicas} JetStream nodes of the cluster are up, or set PNM_NATS_REPLICAS to the number of JetStream nodes there are`,
      { cause },
    );
  }
}
