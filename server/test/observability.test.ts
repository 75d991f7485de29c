import { create, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import type { RoomServiceClient } from "@pnm/client";
import { VerifyTokenRequestSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPnmLogger, prettyLine } from "../src/logger.js";
import { natsServerLogLine } from "../src/nats/embedded-nats.js";
import { signedClient } from "./support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "./support/harness.js";
import { connectAs, issueToken } from "./support/participants.js";

let nats: TestNats;
let otherNats: TestNats;
let pnm: TestServer;
let second: TestServer;
let rooms: RoomServiceClient;
const lines: string[] = [];
const participants: NatsConnection[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const logger = createPnmLogger({ level: "trace", destination: { write: (line: string) => void lines.push(line) } });
  pnm = await startTestServer(nats, testConfig(nats, { metricsPort: 0 }), logger);
  // A second instance in the same process: its metrics are its own (no clash in a shared registry).
  // (On a NATS of its own, so that it answers none of this test's auth callouts.)
  otherNats = await startTestNats();
  second = await startTestServer(otherNats, testConfig(otherNats, { metricsPort: 0 }));
  rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
  secrets.push(
    pnm.config.apiKey,
    pnm.config.apiSecret,
    ...Object.values(nats.keys).flatMap((key) =>
      key && typeof key === "object" && "seed" in key ? [String(key.seed)] : [],
    ),
  );
});
afterAll(async () => {
  await Promise.all(participants.map((nc) => nc.close()));
  await second?.close();
  await pnm?.close();
  await Promise.all([nats?.stop(), otherNats?.stop()]);
});

async function scrape(url: string | undefined): Promise<string> {
  const res = await fetch(url!);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample, by name and exact labels in prom-client's order. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const rendered = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${rendered}} `));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

describe("observability", () => {
  it("logs each request as one redacted JSON line and counts a full flow in /metrics", async () => {
    await rooms.createRoom({ roomId: "obs", metadata: { roomTitle: "O", roomFeatures: {} } });
    const token = await issueToken(rooms, "obs", "alice");
    secrets.push(token);
    // A refused signed RPC: the wrong secret.
    const forged = signedClient(pnm.server.url, pnm.config.apiKey, `${pnm.config.apiSecret}x`, "grpc");
    await expect(forged.isRoomActive({ roomId: "obs" })).rejects.toThrow();
    const verified = await fetch(`${pnm.server.url}/api/verifyToken`, {
      method: "POST",
      headers: { "content-type": "application/protobuf", authorization: token, "x-request-id": "req-obs-1" },
      body: toBinary(VerifyTokenRequestSchema, create(VerifyTokenRequestSchema, { isProduction: true })),
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.get("x-request-id")).toBe("req-obs-1");
    participants.push(await connectAs(nats, "obs", "alice", token));
    await expect(connectAs(nats, "obs", "mallory", "not-a-token")).rejects.toThrow();

    const text = await scrape(pnm.server.metricsUrl);
    const rpc = (method: string, protocol: string, code: string, reason = "") =>
      sample(text, "pnm_rpc_requests_total", { method, protocol, code, reason });
    expect(rpc("CreateRoom", "connect", "ok")).toBe(1);
    expect(rpc("GetJoinToken", "connect", "ok")).toBe(1);
    expect(rpc("IsRoomActive", "grpc", "unauthenticated", "SIGNATURE_INVALID")).toBe(1);
    expect(rpc("VerifyToken", "rest", "ok")).toBe(1);
    expect(sample(text, "pnm_rpc_duration_seconds_count", { method: "CreateRoom", code: "ok" })).toBe(1);
    expect(sample(text, "pnm_auth_callout_decisions_total", { decision: "allowed", reason: "" })).toBe(1);
    expect(sample(text, "pnm_auth_callout_decisions_total", { decision: "refused", reason: "TOKEN_MALFORMED" })).toBe(
      1,
    );
    expect(sample(text, "pnm_auth_callout_duration_seconds_count", { decision: "allowed" })).toBe(1);
    expect(sample(text, "pnm_admissions_total", { outcome: "room", reason: "" })).toBe(1);
    expect(sample(text, "pnm_admissions_total", { outcome: "refused", reason: "TOKEN_MALFORMED" })).toBe(1);
    expect(sample(text, "pnm_nats_connected", { connection: "server" })).toBe(1);
    expect(sample(text, "pnm_nats_connected", { connection: "system" })).toBe(1);
    expect(text).toContain("# TYPE pnm_store_cas_retries_total counter");
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);

    // The other instance saw none of it.
    const other = await scrape(second.server.metricsUrl);
    expect(
      sample(other, "pnm_rpc_requests_total", { method: "CreateRoom", protocol: "connect", code: "ok", reason: "" }),
    ).toBeUndefined();

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = records.filter((r) => r.msg === "request");
    expect(requests).toHaveLength(4);
    for (const r of requests) {
      expect(r).toMatchObject({ level: "info", name: "pnm" });
      expect(typeof r.time).toBe("string");
      expect(typeof r.requestId).toBe("string");
      expect(typeof r.latencyMs).toBe("number");
    }
    expect(requests.find((r) => r.rpc === "IsRoomActive")).toMatchObject({
      route: "/pnm.v1.RoomService/IsRoomActive",
      protocol: "grpc",
      outcome: "refused",
      code: "unauthenticated",
      reason: "SIGNATURE_INVALID",
    });
    expect(requests.find((r) => r.rpc === "VerifyToken")).toMatchObject({
      requestId: "req-obs-1",
      route: "/api/verifyToken",
      outcome: "ok",
      status: 200,
    });
    const all = lines.join("\n");
    for (const secret of secrets) expect(secret.length > 8 && all.includes(secret), secret.slice(0, 6)).toBe(false);
  });

  it("redacts credentials in headers and fields, whoever logs them", () => {
    const out: string[] = [];
    const logger = createPnmLogger({ destination: { write: (line: string) => void out.push(line) } });
    logger.log(
      "info",
      {
        headers: {
          authorization: "Bearer t0ken",
          "api-key": "k3y",
          "hash-signature": "s1g",
          "pnm-signature": "v2;sig=s2g",
        },
        req: { headers: { authorization: "Bearer t1ken" } },
        token: "t2ken",
        user: { token: "t3ken", secret: "s3cret" },
      },
      "probe",
    );
    expect(out).toHaveLength(1);
    for (const value of ["t0ken", "k3y", "s1g", "s2g", "t1ken", "t2ken", "t3ken", "s3cret"]) {
      expect(out[0]).not.toContain(value);
    }
    expect(JSON.parse(out[0]!)).toMatchObject({ msg: "probe", token: "[redacted]" });
  });

  it("honours the level and reads well on a terminal", () => {
    const out: string[] = [];
    const logger = createPnmLogger({ level: "warn", destination: { write: (line: string) => void out.push(line) } });
    logger.info("dropped");
    logger.log("warn", { component: "nats-server" }, "kept");
    expect(out).toHaveLength(1);
    expect(prettyLine(out[0]!)).toMatch(/WARN.*kept.*component=.*nats-server/);
  });

  it("reads nats-server's log lines with their levels", () => {
    expect(natsServerLogLine("[1234] 2026/01/02 15:04:05.123456 [WRN] slow consumer")).toEqual([
      "warn",
      "slow consumer",
    ]);
    expect(natsServerLogLine("[1] 2026/01/02 15:04:05.123456 [INF] Server is ready")).toEqual([
      "info",
      "Server is ready",
    ]);
    expect(natsServerLogLine("[1] 2026/01/02 15:04:05.123456 [ERR] boom")).toEqual(["error", "boom"]);
    expect(natsServerLogLine("something else")).toEqual(["info", "something else"]);
  });
});
