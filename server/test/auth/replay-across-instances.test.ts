import { signV2 } from "@pnm/client/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { postRaw } from "../support/rest.js";

// Two pnm instances on one NATS, as a deployment behind a load balancer: a
// v2-signed request used on one is a replay on the other (the nonces live in
// the shared KV bucket). One server, as the conformance harness sees, cannot show it.
let nats: TestNats;
let first: TestServer;
let second: TestServer;
beforeAll(async () => {
  nats = await startTestNats();
  const config = testConfig(nats);
  first = await startTestServer(nats, config);
  second = await startTestServer(nats, config);
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await nats?.stop();
});

describe("a v2-signed request", () => {
  it("is answered by one instance and refused as a replay by the other", async () => {
    const { apiKey, apiSecret } = first.config;
    const body = JSON.stringify({ room_id: "replayed-elsewhere", metadata: { room_title: "R", room_features: {} } });
    const headers = {
      "API-KEY": apiKey,
      "PNM-SIGNATURE": await signV2(apiSecret, {
        method: "POST",
        path: "/auth/room/create",
        timestamp: Math.floor(Date.now() / 1000),
        nonce: "replayed-elsewhere-0001",
        message: new TextEncoder().encode(body),
      }),
    };
    const answered = await postRaw(first.server.url, "/auth/room/create", body, headers);
    expect(answered.status).toBe(200);
    expect(answered.body.status).toBe(true);
    const replayed = await postRaw(second.server.url, "/auth/room/create", body, headers);
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get("pnm-failure-reason")).toBe("SIGNATURE_REPLAYED");
  });
});
