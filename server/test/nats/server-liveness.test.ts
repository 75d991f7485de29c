import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServerLiveness } from "../../src/nats/server-liveness.js";
import { startTestNats, type TestNats } from "../../src/testing/index.js";

describe("server liveness", () => {
  let nats: TestNats;
  let other: TestNats;
  let system: NatsConnection;
  beforeAll(async () => {
    [nats, other] = await Promise.all([startTestNats(), startTestNats()]);
    system = await nats.connectSystem();
  });
  afterAll(async () => {
    await Promise.all([nats?.stop(), other?.stop()]);
  });

  it("reports the server it is connected to as there", async () => {
    const liveness = createServerLiveness({ systemConnection: system });
    expect(await liveness.goneServers([system.info!.server_id])).toEqual(new Set());
  });

  it("reports a server that no longer belongs to the deployment as gone", async () => {
    const otherSystem = await other.connectSystem();
    const goneId = otherSystem.info!.server_id;
    await other.stop();
    const liveness = createServerLiveness({ systemConnection: system });
    expect(await liveness.goneServers([goneId, system.info!.server_id, goneId])).toEqual(new Set([goneId]));
  });
});
