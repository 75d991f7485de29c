import { type ClientHttp2Session, connect as connectHttp2, constants as http2Constants } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { hmacHex, postSigned } from "../support/rest.js";
import {
  dribble,
  emptySettingsFrame,
  http2Preface,
  http2Request,
  openRaw,
  pingFrame,
  type RecordingLogger,
  receiveUntil,
  recordingLogger,
} from "./wire.js";

// Short limits so that every kind of slow client runs out within two seconds. All connections come
// from 127.0.0.1, so the per-client cap is lifted here (connection-caps.test.ts covers it).
const limits = {
  firstBytesTimeoutMs: 300,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 500,
  maxConnectionsPerClient: 0,
};
/** The listener's wait for a peer to close after an idle session's GOAWAY. */
const goawayGraceMs = 1_000;
/** Node closes an HTTP/1.1 connection up to 1 s after the keep-alive timeout it advertises. */
const nodeKeepAliveBufferMs = 1_000;
// How late each timer on the way to a close may run: on a busy machine (test files run in parallel on
// few cores) this process's timers run up to a second late. A connection no limit applies to stays open.
const marginMs = 1_500;
const perKind = 3;

interface Closing {
  /** The limits on the way to the close, added up: it may not come earlier. */
  limitMs: number;
  /** The latest it may come. */
  latestMs: number;
  /** When it did, in ms after the connection started being slow, for each connection of the kind. */
  closedAfterMs: number[];
  /** What the server sent on each before closing. */
  received: string[];
}

/** `timers`: how many timers run one after the other before the close, each of which may be late. */
function closing(limitMs: number, { timers = 1, extraMs = 0 } = {}): Closing {
  return { limitMs, latestMs: limitMs + extraMs + timers * marginMs, closedAfterMs: [], received: [] };
}

describe("slow clients are closed on time while normal requests are served", () => {
  let nats: TestNats;
  let pnm: TestServer;
  let logger: RecordingLogger;
  const closings = new Map<string, Closing>();
  const http2Resets: { afterMs: number; rstCode: number }[] = [];
  const traffic = { served: new Map<string, number>(), failures: [] as string[] };

  beforeAll(async () => {
    nats = await startTestNats();
    logger = recordingLogger();
    pnm = await startTestServer(nats, testConfig(nats, limits), logger);
    const { port, url } = pnm.server;
    const { apiKey, apiSecret } = pnm.config;

    const observe = async (
      kind: string,
      expected: Closing,
      open: () => Promise<{ start: number; closed: Promise<{ at: number; received?: Buffer }> }>,
    ) => {
      closings.set(kind, expected);
      await Promise.all(
        Array.from({ length: perKind }, async () => {
          const { start, closed } = await open();
          // A connection still open past the latest close counts as never closed, so a failure does not hang the run.
          const { at, received } = await Promise.race([
            closed,
            sleep(expected.latestMs + 500).then(() => ({ at: Infinity, received: undefined })),
          ]);
          expected.closedAfterMs.push(Math.round(at - start));
          expected.received.push(received?.toString("latin1") ?? "");
        }),
      );
    };
    const raw = async (first: string | Buffer | undefined, dribbled?: string | Buffer, halfOpen = false) => {
      const connection = await openRaw(port, { allowHalfOpen: halfOpen });
      if (first !== undefined) connection.socket.write(first);
      if (dribbled) dribble(connection.socket, dribbled, 100);
      return { start: performance.now(), closed: connection.closed };
    };

    // Normal requests on every protocol path; answered once before the slow clients come, so that none is slow for a cold start.
    const body = JSON.stringify({ room_id: "slow-clients-room" });
    // Like any HTTP/2 client, this one opens a new session when the server has closed an idle one.
    let h2: ClientHttp2Session | undefined;
    const h2Session = () => {
      if (!h2 || h2.closed || h2.destroyed) {
        h2 = connectHttp2(url);
        h2.on("error", () => {});
      }
      return h2;
    };
    const connectH1 = signedClient(url, apiKey, apiSecret, "connect");
    const grpcH2c = signedClient(url, apiKey, apiSecret, "grpc");
    const restHeaders = {
      ":method": "POST",
      ":path": "/auth/room/isRoomActive",
      "content-type": "application/json",
      "api-key": apiKey,
      "hash-signature": hmacHex(apiSecret, body),
    };
    const calls: Record<string, () => Promise<boolean>> = {
      "REST over HTTP/1.1": async () =>
        (await postSigned(url, "/auth/room/isRoomActive", { room_id: "slow-clients-room" }, apiKey, apiSecret))
          .status === 200,
      "REST over h2c": async () => (await http2Request(h2Session(), restHeaders, body)).status === 200,
      "Connect over HTTP/1.1": async () =>
        (await connectH1.isRoomActive({ roomId: "slow-clients-room" })).isActive === false,
      "gRPC over h2c": async () => (await grpcH2c.isRoomActive({ roomId: "slow-clients-room" })).isActive === false,
    };
    // A request that crosses an idle session's GOAWAY is refused unprocessed, and a client may send it again
    // (the limit is short here, and this process's timers run late when the machine is busy).
    const call = async (name: string): Promise<boolean> => {
      try {
        return await calls[name]!();
      } catch (err) {
        if (!/REFUSED_STREAM/.test((err as Error).message)) throw err;
        return calls[name]!();
      }
    };
    for (const name of Object.keys(calls)) expect(await call(name), name).toBe(true);

    const slowClients = Promise.all([
      observe("dribbled HTTP/1.1 headers", closing(limits.headersTimeoutMs), () =>
        raw("GET /healthz HTTP/1.1\r\nHost: pnm\r\nx-slow: ", "a"),
      ),
      observe("dribbled chunked body to a REST route", closing(limits.requestTimeoutMs), () =>
        raw(
          "POST /api/verifyToken HTTP/1.1\r\nHost: pnm\r\nAuthorization: Bearer slow\r\nContent-Type: application/protobuf\r\nTransfer-Encoding: chunked\r\n\r\n",
          "1\r\na\r\n",
        ),
      ),
      observe("dribbled chunked body to a Connect route", closing(limits.requestTimeoutMs), () =>
        raw(
          "POST /pnm.v1.ParticipantService/VerifyToken HTTP/1.1\r\nHost: pnm\r\nAuthorization: Bearer slow\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
          "1\r\n \r\n",
        ),
      ),
      observe("half the HTTP/2 preface", closing(limits.firstBytesTimeoutMs), () => raw(http2Preface.subarray(0, 12))),
      observe("nothing at all", closing(limits.firstBytesTimeoutMs), () => raw(undefined)),
      observe(
        "idle HTTP/1.1 keep-alive",
        closing(limits.idleTimeoutMs, { extraMs: nodeKeepAliveBufferMs }),
        async () => {
          const connection = await openRaw(port);
          connection.socket.write("GET /healthz HTTP/1.1\r\nHost: pnm\r\n\r\n");
          await receiveUntil(connection.socket, (received) => received.toString("latin1").endsWith("\r\n0\r\n\r\n"));
          return { start: performance.now(), closed: connection.closed };
        },
      ),
      observe("idle HTTP/2 session after a request", closing(limits.idleTimeoutMs), async () => {
        const session = connectHttp2(url);
        session.on("error", () => {});
        const closed = new Promise<{ at: number }>((resolve) =>
          session.once("close", () => resolve({ at: performance.now() })),
        );
        expect((await http2Request(session, { ":path": "/healthz" })).status).toBe(200);
        return { start: performance.now(), closed };
      }),
      // PINGs keep no session open; they also make the client notice the reset once its half-open side is dropped.
      observe(
        "idle HTTP/2 session whose peer pings and ignores GOAWAY",
        closing(limits.idleTimeoutMs + goawayGraceMs, { timers: 2 }),
        () => raw(Buffer.concat([http2Preface, emptySettingsFrame]), pingFrame, true),
      ),
      // The stream is cancelled after the request timeout; the session then idles out.
      observe(
        "HTTP/2 stream whose body never ends, to a Connect route",
        closing(limits.requestTimeoutMs + limits.idleTimeoutMs, { timers: 2 }),
        () =>
          endlessHttp2Body(url, {
            ":path": "/pnm.v1.ParticipantService/VerifyToken",
            "content-type": "application/json",
          }),
      ),
      observe(
        "HTTP/2 stream whose body never ends, to a REST route",
        closing(limits.requestTimeoutMs + limits.idleTimeoutMs, { timers: 2 }),
        () => endlessHttp2Body(url, { ":path": "/api/verifyToken", "content-type": "application/protobuf" }),
      ),
    ]);

    // Back to back, for as long as the slow clients last.
    let slowClientsDone = false;
    const stop = () => {
      slowClientsDone = true;
    };
    slowClients.then(stop, stop);
    while (!slowClientsDone) {
      await Promise.all(
        Object.keys(calls).map(async (name) => {
          try {
            if (!(await call(name))) throw new Error("unexpected answer");
            traffic.served.set(name, (traffic.served.get(name) ?? 0) + 1);
          } catch (err) {
            traffic.failures.push(`${name}: ${(err as Error).message}`);
          }
        }),
      );
      await sleep(50);
    }
    await slowClients;
    h2?.close();
  });

  async function endlessHttp2Body(url: string, headers: Record<string, string>) {
    const session = connectHttp2(url);
    session.on("error", () => {});
    const closed = new Promise<{ at: number }>((resolve) =>
      session.once("close", () => resolve({ at: performance.now() })),
    );
    const req = session.request({ ":method": "POST", authorization: "Bearer slow", ...headers }, { endStream: false });
    req.on("error", () => {});
    const start = performance.now();
    const writer = setInterval(() => req.writable && req.write(" "), 100);
    req.once("close", () => {
      clearInterval(writer);
      http2Resets.push({ afterMs: performance.now() - start, rstCode: req.rstCode ?? -1 });
    });
    return { start, closed };
  }

  afterAll(async () => {
    await pnm?.close();
    await nats?.stop();
  });

  const kinds = [
    "dribbled HTTP/1.1 headers",
    "dribbled chunked body to a REST route",
    "dribbled chunked body to a Connect route",
    "half the HTTP/2 preface",
    "nothing at all",
    "idle HTTP/1.1 keep-alive",
    "idle HTTP/2 session after a request",
    "idle HTTP/2 session whose peer pings and ignores GOAWAY",
    "HTTP/2 stream whose body never ends, to a Connect route",
    "HTTP/2 stream whose body never ends, to a REST route",
  ];
  it.each(kinds)("closes a connection with %s within its limit", (kind) => {
    const { limitMs, latestMs, closedAfterMs } = closings.get(kind)!;
    expect(closedAfterMs).toHaveLength(perKind);
    for (const ms of closedAfterMs) {
      // A little early: the server's clock for the limit starts before the client's.
      expect(ms, `closed after ${ms} ms, limit ${limitMs} ms`).toBeGreaterThanOrEqual(limitMs * 0.9);
      expect(ms, `closed after ${ms} ms, limit ${limitMs} ms`).toBeLessThanOrEqual(latestMs);
    }
  });

  it("answers timed-out HTTP/1.1 requests with 408", () => {
    for (const kind of [
      "dribbled HTTP/1.1 headers",
      "dribbled chunked body to a REST route",
      "dribbled chunked body to a Connect route",
    ]) {
      for (const received of closings.get(kind)!.received) expect(received, kind).toMatch(/^HTTP\/1\.1 408 /);
    }
  });

  it("cancels an HTTP/2 stream whose body has not ended within the request timeout", () => {
    expect(http2Resets).toHaveLength(2 * perKind);
    for (const reset of http2Resets) {
      expect(reset.rstCode).toBe(http2Constants.NGHTTP2_CANCEL);
      expect(reset.afterMs).toBeGreaterThanOrEqual(limits.requestTimeoutMs * 0.9);
      expect(reset.afterMs).toBeLessThanOrEqual(limits.requestTimeoutMs + marginMs);
    }
  });

  it("keeps serving REST and Connect on HTTP/1.1 and h2c meanwhile", () => {
    expect(traffic.failures).toEqual([]);
    for (const name of ["REST over HTTP/1.1", "REST over h2c", "Connect over HTTP/1.1", "gRPC over h2c"]) {
      expect(traffic.served.get(name) ?? 0, name).toBeGreaterThanOrEqual(5);
    }
  });

  it("logs nothing at error level for slow or vanished clients", () => {
    expect(logger.errors).toEqual([]);
  });
});
