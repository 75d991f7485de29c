import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { failureReason } from "@pnm/client";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import type { Logger } from "../../src/logger.js";
import { type PnmServer, startPnmServer } from "../../src/server.js";
import { signedClient } from "../support/clients.js";
import { localNatsServerBinary } from "../support/harness.js";
import { postSigned } from "../support/rest.js";

const apiKey = "outage-key";
const apiSecret = "outage-secret-0123456789abcdef0123456789abcdef";
const lines: string[] = [];
const logger: Logger = { info: (message) => lines.push(message), error: (message) => lines.push(message) };
let dataDir: string;
let pnm: PnmServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "pnm-outage-"));
  const config = parseConfig({
    PNM_HTTP_PORT: "0",
    PNM_DATA_DIR: dataDir,
    PNM_API_KEY: apiKey,
    PNM_API_SECRET: apiSecret,
    PNM_NATS_SERVER_BIN: localNatsServerBinary(),
  });
  pnm = await startPnmServer({ config, logger });
});
afterAll(async () => {
  await pnm?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const readyz = async () => {
  const res = await fetch(`${pnm.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; notReady: string[] } };
};
async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (ok(value) || Date.now() > deadline) return value;
    await delay(50);
  }
}
const pidOf = (pattern: RegExp) => {
  const found = lines
    .map((line) => pattern.exec(line))
    .filter(Boolean)
    .at(-1);
  return found ? Number(found[1]) : undefined;
};

describe("NATS outage", { timeout: 30_000 }, () => {
  it("reports itself, refuses requests at once and recovers when the supervisor restarts nats-server", async () => {
    const rooms = signedClient(pnm.url, apiKey, apiSecret, "connect");
    expect((await fetch(`${pnm.url}/healthz`)).status).toBe(200);
    expect(await readyz()).toMatchObject({ status: 200, body: { ready: true, notReady: [] } });
    await rooms.createRoom({ roomId: "before", metadata: { roomTitle: "B", roomFeatures: {} } });

    const pid = pidOf(/embedded nats-server \(pid (\d+)\)/);
    const where = lines.find((line) => line.includes("embedded nats-server (pid"))!;
    const [natsUrl, wsUrl] = [/at (nats:\/\/\S+)/.exec(where)![1], /WebSocket (ws:\/\/[^)\s]+)/.exec(where)![1]];
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    // The connections see the socket close within milliseconds, and reconnect no sooner than 2 s later.
    await delay(100);

    const down = await until(readyz, (r) => r.body.notReady.includes("nats"), 3_000);
    expect(down.status).toBe(503);
    expect(down.body.notReady).toContain("nats");
    expect((await fetch(`${pnm.url}/healthz`)).status).toBe(200);

    const started = Date.now();
    const refused = await rooms.isRoomActive({ roomId: "before" }).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);
    expect(failureReason(refused)).toBe(FailureReason.NATS_UNAVAILABLE);
    const rest = await postSigned(pnm.url, "/auth/room/isRoomActive", { room_id: "before" }, apiKey, apiSecret);
    expect(rest, `${Date.now() - started} ms`).toMatchObject({ status: 503 });

    const up = await until(readyz, (r) => r.status === 200, 15_000);
    expect(up).toMatchObject({ status: 200, body: { ready: true } });
    const restarted = lines.find((line) => line.includes("embedded nats-server restarted"));
    expect(restarted).toContain(natsUrl);
    expect(restarted).toContain(wsUrl);
    expect(pidOf(/restarted \(pid (\d+)\)/)).not.toBe(pid);
    expect((await rooms.isRoomActive({ roomId: "before" })).status).toBe(true);
    await rooms.createRoom({ roomId: "after", metadata: { roomTitle: "A", roomFeatures: {} } });
  });
});
