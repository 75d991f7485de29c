// A client that goes away mid-body is no failure of the server's: anyone can do
// it, so it must not reach the error log (it is a debug line), and the server
// keeps serving everyone else.
import { once } from "node:events";
import { type ClientHttp2Session, connect as connectHttp2, constants as http2Constants } from "node:http2";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/logger.js";
import { rpcProtocols, signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { postSigned } from "../support/rest.js";

interface LevelRecord {
  level: "debug" | "info" | "error";
  message: string;
}

function levelRecorder(): Logger & { records: LevelRecord[] } {
  const records: LevelRecord[] = [];
  return {
    records,
    debug: (message) => void records.push({ level: "debug", message }),
    info: (message) => void records.push({ level: "info", message }),
    error: (message, err) =>
      void records.push({
        level: "error",
        message: `${message} ${err instanceof Error ? err.message : String(err ?? "")}`,
      }),
  };
}

let nats: TestNats;
let pnm: TestServer;
let logger: ReturnType<typeof levelRecorder>;
beforeAll(async () => {
  nats = await startTestNats();
  logger = levelRecorder();
  pnm = await startTestServer(nats, testConfig(nats), logger);
});
afterAll(async () => {
  await pnm?.close();
  await nats?.stop();
});

interface Route {
  name: string;
  path: string;
  contentType: string;
  signed: boolean;
  /** Over HTTP/1.1 too (gRPC needs HTTP/2). */
  http1: boolean;
}

const routes: Route[] = [
  {
    name: "REST /auth/room/create",
    path: "/auth/room/create",
    contentType: "application/json",
    signed: true,
    http1: true,
  },
  {
    name: "REST /api/verifyToken",
    path: "/api/verifyToken",
    contentType: "application/protobuf",
    signed: false,
    http1: true,
  },
  {
    name: "Connect JSON CreateRoom",
    path: "/pnm.v1.RoomService/CreateRoom",
    contentType: "application/json",
    signed: true,
    http1: true,
  },
  {
    name: "Connect binary VerifyToken",
    path: "/pnm.v1.ParticipantService/VerifyToken",
    contentType: "application/proto",
    signed: false,
    http1: true,
  },
  {
    name: "gRPC-web CreateRoom",
    path: "/pnm.v1.RoomService/CreateRoom",
    contentType: "application/grpc-web+proto",
    signed: true,
    http1: true,
  },
  {
    name: "gRPC-web VerifyToken",
    path: "/pnm.v1.ParticipantService/VerifyToken",
    contentType: "application/grpc-web+proto",
    signed: false,
    http1: true,
  },
  {
    name: "gRPC CreateRoom",
    path: "/pnm.v1.RoomService/CreateRoom",
    contentType: "application/grpc",
    signed: true,
    http1: false,
  },
  {
    name: "gRPC VerifyToken",
    path: "/pnm.v1.ParticipantService/VerifyToken",
    contentType: "application/grpc",
    signed: false,
    http1: false,
  },
];

/**
 * The request's headers: a valid API key and a well-formed signature (wrong
 * only once the body is complete), so no refusal comes before the body is
 * read; `Expect: 100-continue` has the server tell when it has taken the
 * request, so the client goes away mid-body, not before the request arrived.
 */
function headersFor(route: Route): Record<string, string> {
  return {
    "content-type": route.contentType,
    "content-length": "1000",
    expect: "100-continue",
    ...(route.signed
      ? { "api-key": pnm.config.apiKey, "hash-signature": "0".repeat(64) }
      : { authorization: "not-yet" }),
  };
}

/** Starts the request over HTTP/1.1, sends part of its body once the server has taken it, then closes the connection. */
async function abortHttp1(route: Route, how: "close" | "reset"): Promise<void> {
  const socket: Socket = connect(pnm.server.port, "127.0.0.1");
  socket.on("error", () => {});
  await once(socket, "connect");
  const head = Object.entries(headersFor(route))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.write(`POST ${route.path} HTTP/1.1\r\nhost: pnm\r\n${head}\r\n`);
  await untilReceived(socket, "100 Continue");
  socket.write(Buffer.alloc(10, 0x20));
  await sleep(20);
  if (how === "reset") socket.resetAndDestroy();
  else socket.destroy();
}

/** The same over HTTP/2: the stream is cancelled, or the whole session goes away. */
async function abortHttp2(route: Route, how: "cancel" | "session"): Promise<void> {
  const session: ClientHttp2Session = connectHttp2(pnm.server.url);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": route.path, ...headersFor(route) });
  stream.on("error", () => {});
  await once(stream, "continue");
  stream.write(Buffer.alloc(10, 0x20));
  await sleep(20);
  if (how === "cancel") stream.close(http2Constants.NGHTTP2_CANCEL);
  else session.destroy();
  await sleep(20);
  session.destroy();
}

function untilReceived(socket: Socket, text: string): Promise<void> {
  let received = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not send ${JSON.stringify(text)}`)), 5_000);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Waits for the server to have noted `count` aborts (debug lines), an answer rather than silence. */
async function debugLines(count: number): Promise<LevelRecord[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = logger.records.filter((r) => r.level === "debug");
    if (lines.length >= count || Date.now() > deadline) return lines;
    await sleep(20);
  }
}

describe("a client that goes away mid-body", () => {
  it("is logged at debug level only, on every route, over HTTP/1.1 and HTTP/2", async () => {
    const before = logger.records.length;
    let aborted = 0;
    for (const route of routes) {
      if (route.http1) {
        for (const how of ["close", "reset"] as const) {
          await abortHttp1(route, how);
          aborted++;
        }
      }
      for (const how of ["cancel", "session"] as const) {
        await abortHttp2(route, how);
        aborted++;
      }
    }
    const lines = await debugLines(aborted);
    const records = logger.records.slice(before);
    expect(records.filter((r) => r.level === "error")).toEqual([]);
    expect(lines).toHaveLength(aborted);
    for (const line of lines) expect(line.message).toMatch(/client went away/);
  });

  it("leaves the server serving, over HTTP/1.1 and HTTP/2", async () => {
    const { url } = pnm.server;
    const { apiKey, apiSecret } = pnm.config;
    const rest = await postSigned(
      url,
      "/auth/room/create",
      { room_id: "after-aborts", metadata: { room_title: "After", room_features: {} } },
      apiKey,
      apiSecret,
    );
    expect(rest.status).toBe(200);
    expect(rest.body.status).toBe(true);
    for (const protocol of rpcProtocols) {
      expect(
        (await signedClient(url, apiKey, apiSecret, protocol).isRoomActive({ roomId: "after-aborts" })).isActive,
        protocol,
      ).toBe(true);
    }
    expect(logger.records.filter((r) => r.level === "error")).toEqual([]);
  });
});
