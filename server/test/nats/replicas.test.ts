import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { ConfigError } from "../../src/config-error.js";
import { ensureStreamReplicas, NatsReplicasError, resolveReplicas } from "../../src/nats/replicas.js";
import { ensureRoomStreams } from "../../src/nats/room-streams.js";
import { natsServerList } from "../../src/nats/server-connection.js";
import { createNonceStore } from "../../src/store/nonce-store.js";
import { createRoomStore } from "../../src/store/room-store.js";
import { startTestNats, type TestNats } from "../support/harness.js";

let nats: TestNats;
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startTestNats();
  nc = await nats.connect();
});
afterAll(() => nats.stop());

describe("NATS replicas on a single server", () => {
  it("defaults to 1 and follows PNM_NATS_REPLICAS when set", () => {
    expect(resolveReplicas(nc)).toBe(1);
    expect(resolveReplicas(nc, 3)).toBe(3);
  });

  it("says in one line what to do when the buckets and streams cannot have the replicas asked for", async () => {
    const advice = /^NATS could not place .* with 3 replicas \(.*\): .*PNM_NATS_REPLICAS[^\n]*$/;
    await expect(createRoomStore({ nc, replicas: 3 })).rejects.toThrow(advice);
    await expect(createRoomStore({ nc, replicas: 3 })).rejects.toBeInstanceOf(NatsReplicasError);
    await expect(ensureRoomStreams(nc, undefined, 3)).rejects.toThrow(advice);
  });

  it("raises a stream that has fewer replicas, and says how when NATS refuses", async () => {
    await new Kvm(nc).create("pnm-nonces", { history: 1, ttl: 60_000 });
    const jsm = await jetstreamManager(nc);
    // A single nats-server records the count without placing copies; a cluster places them (cluster.test.ts).
    await ensureStreamReplicas(jsm, "KV_pnm-nonces", 3);
    expect((await jsm.streams.info("KV_pnm-nonces")).config.num_replicas).toBe(3);
    await ensureStreamReplicas(jsm, "KV_pnm-nonces", 1); // never lowered
    expect((await jsm.streams.info("KV_pnm-nonces")).config.num_replicas).toBe(3);

    const refusing = {
      streams: {
        info: jsm.streams.info.bind(jsm.streams),
        update: () => Promise.reject(new Error("insufficient resources")),
      },
    } as unknown as JetStreamManager;
    await new Kvm(nc).create("pnm-single", { history: 1 });
    await expect(ensureStreamReplicas(refusing, "KV_pnm-single", 3)).rejects.toThrow(
      /^NATS stream KV_pnm-single has 1 replica\(s\) and refused to go to 3 \(insufficient resources\): .*nats stream edit KV_pnm-single --replicas 3.*PNM_NATS_REPLICAS=1$/,
    );
    // With the default of 1, the buckets and streams are created as before.
    await createNonceStore({ nc, ttlMs: 60_000 });
    await createRoomStore({ nc });
    await ensureRoomStreams(nc);
  });
});

describe("PNM_NATS_URL and PNM_NATS_REPLICAS", () => {
  const base = { PNM_API_KEY: "k", PNM_API_SECRET: "s".repeat(40) };
  it("takes a comma-separated list of servers", () => {
    const config = parseConfig({ ...base, PNM_NATS_URL: " nats://a:4222, nats://b:4222 ,,nats://c:4222" });
    expect(config.natsUrl).toBe("nats://a:4222,nats://b:4222,nats://c:4222");
    expect(natsServerList(config.natsUrl!)).toEqual(["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
    expect(parseConfig({ ...base, PNM_NATS_URL: " , " }).natsUrl).toBeUndefined();
  });

  it("takes a replica count from 1 to 5, unset meaning detected", () => {
    expect(parseConfig(base).natsReplicas).toBeUndefined();
    expect(parseConfig({ ...base, PNM_NATS_REPLICAS: "3" }).natsReplicas).toBe(3);
    for (const bad of ["0", "6", "three", ""]) {
      expect(() => parseConfig({ ...base, PNM_NATS_REPLICAS: bad })).toThrow(ConfigError);
      expect(() => parseConfig({ ...base, PNM_NATS_REPLICAS: bad })).toThrow(
        /^PNM_NATS_REPLICAS: expected a replica count from 1 to 5/,
      );
    }
  });
});
