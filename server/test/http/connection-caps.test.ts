import { connect as connectHttp2 } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PnmConfig } from "../../src/config.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { openRaw, type RawConnection, type RecordingLogger, recordingLogger } from "./wire.js";

/** How soon a refused connection must be closed. */
const promptlyMs = 500;

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

async function startServer(limits: Partial<PnmConfig>): Promise<{ pnm: TestServer; logger: RecordingLogger }> {
  const logger = recordingLogger();
  // Connections held by the tests send nothing: the first-bytes limit must outlast each test.
  const pnm = await startTestServer(nats, testConfig(nats, { firstBytesTimeoutMs: 10_000, ...limits }), logger);
  return { pnm, logger };
}

/** Opens `count` connections that the server accepts and holds. */
async function hold(port: number, count: number): Promise<RawConnection[]> {
  const held: RawConnection[] = [];
  for (let i = 0; i < count; i++) held.push(await openRaw(port));
  // Still open once the server has had the chance to refuse them.
  await sleep(100);
  for (const connection of held) expect(connection.socket.destroyed).toBe(false);
  return held;
}

/** Whether a connection is refused: closed promptly, without a byte, though it sent a request. */
async function refused(port: number): Promise<boolean> {
  const connection = await openRaw(port);
  connection.socket.write("GET /healthz HTTP/1.1\r\nHost: pnm\r\nConnection: close\r\n\r\n");
  const outcome = await Promise.race([connection.closed, sleep(promptlyMs).then(() => undefined)]);
  connection.socket.destroy();
  return outcome !== undefined && outcome.received.length === 0;
}

/** Whether /healthz is answered over a new connection. */
async function served(port: number): Promise<boolean> {
  const connection = await openRaw(port);
  connection.socket.write("GET /healthz HTTP/1.1\r\nHost: pnm\r\nConnection: close\r\n\r\n");
  const { received } = await connection.closed;
  return received.toString("latin1").startsWith("HTTP/1.1 200 ");
}

/** Polls until a new connection is served: the server learns of a client's close a moment after it. */
async function servedAgain(port: number): Promise<boolean> {
  const deadline = performance.now() + 2_000;
  while (performance.now() < deadline) {
    if (await served(port)) return true;
    await sleep(50);
  }
  return false;
}

describe("connection caps", () => {
  it("refuses a client's connections beyond its cap, over either protocol, and serves it again once one closes", async () => {
    const { pnm } = await startServer({ maxConnectionsPerClient: 4 });
    const { port, url } = pnm.server;
    try {
      const held = await hold(port, 4);
      expect(await refused(port)).toBe(true);
      const session = connectHttp2(url);
      const sessionError = new Promise((resolve) => session.once("error", resolve));
      const sessionClosed = new Promise((resolve) => session.once("close", resolve));
      expect(await Promise.race([sessionClosed.then(() => "closed"), sleep(promptlyMs).then(() => "open")])).toBe(
        "closed",
      );
      expect(await sessionError).toBeDefined();

      held[0]!.socket.destroy();
      expect(await servedAgain(port)).toBe(true);
      for (const connection of held) connection.socket.destroy();
    } finally {
      await pnm.close();
    }
  });

  it("refuses connections beyond the server's cap, and serves again once one closes", async () => {
    const { pnm } = await startServer({ maxConnections: 3, maxConnectionsPerClient: 0 });
    const { port } = pnm.server;
    try {
      const held = await hold(port, 3);
      expect(await refused(port)).toBe(true);
      held[0]!.socket.destroy();
      expect(await servedAgain(port)).toBe(true);
      for (const connection of held) connection.socket.destroy();
    } finally {
      await pnm.close();
    }
  });

  it("logs refusals at info, once and not once per connection", async () => {
    const { pnm, logger } = await startServer({ maxConnectionsPerClient: 2 });
    const { port } = pnm.server;
    try {
      const held = await hold(port, 2);
      for (let i = 0; i < 20; i++) expect(await refused(port)).toBe(true);
      expect(logger.errors).toEqual([]);
      // The rest are summed up in one line per interval, which this test does not wait for.
      expect(logger.infos).toHaveLength(1);
      expect(logger.infos[0]).toContain("PNM_MAX_CONNECTIONS_PER_CLIENT");
      for (const connection of held) connection.socket.destroy();
    } finally {
      await pnm.close();
    }
  });

  it("closes every connection promptly when the server closes, whatever state it is in", async () => {
    const { pnm } = await startServer({});
    const { port, url } = pnm.server;
    const silent = await openRaw(port);
    const halfHeaders = await openRaw(port);
    halfHeaders.socket.write("GET /healthz HTTP/1.1\r\nHost: pnm\r\n");
    const keptAlive = await openRaw(port);
    keptAlive.socket.write("GET /healthz HTTP/1.1\r\nHost: pnm\r\n\r\n");
    const session = connectHttp2(url);
    session.on("error", () => {});
    const stream = session.request(
      { ":method": "POST", ":path": "/api/verifyToken", authorization: "Bearer open" },
      { endStream: false },
    );
    stream.on("error", () => {});
    stream.write("x");
    const sessionClosed = new Promise<number>((resolve) => session.once("close", () => resolve(performance.now())));
    await sleep(200);

    const start = performance.now();
    await pnm.close();
    const closedAt = await Promise.all(
      [silent.closed, halfHeaders.closed, keptAlive.closed].map(async (c) => (await c).at).concat(sessionClosed),
    );
    for (const at of closedAt) expect(at - start).toBeLessThan(promptlyMs);
  });
});
