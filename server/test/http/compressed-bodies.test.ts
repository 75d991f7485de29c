// pnm reads no compressed request on any route (server/src/http/request-body-guard.ts,
// encodingRefusal): every route kind and transport refuses one with
// BODY_MALFORMED and its ErrorDetail (RPC) or 415 and pnm-failure-reason
// (REST), before the body is read, and nothing it asked for happens.

import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { CommonResponseSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { CreateRoomRequestSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { VerifyTokenRequestSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";
import { envelope, type RawAnswer, type RawHttpClient, rawHttpClient, readRpcAnswer } from "../support/raw-http.js";
import { hmacHex } from "../support/rest.js";

const deployment = useTestDeployment();
let client: RawHttpClient;
let token: string;
beforeAll(async () => {
  client = rawHttpClient(deployment.pnm.server.url);
  await deployment.rooms.createRoom({ roomId: "coded-room", metadata: { roomTitle: "Coded", roomFeatures: {} } });
  token = (await deployment.rooms.getJoinToken({ roomId: "coded-room", userInfo: { name: "Dora", userId: "dora" } }))
    .token!;
});
afterAll(() => client?.close());

type Coding = "gzip" | "br" | "deflate";
const codings: Coding[] = ["gzip", "br", "deflate"];
const compress: Record<Coding, (bytes: Uint8Array) => Buffer> = {
  gzip: gzipSync,
  br: brotliCompressSync,
  deflate: deflateSync,
};

interface Target {
  name: string;
  path: string;
  contentType: string;
  /** `envelope`: gRPC / gRPC-web, one message envelope; `body`: the body is the message. */
  framing: "body" | "envelope";
  http2: boolean;
  rest: boolean;
  /** CreateRoom (signed) rather than VerifyToken. */
  signed: boolean;
  json: boolean;
}

const rpcTransports = [
  { transport: "connect-json", contentType: "application/json", framing: "body", http2: false, json: true },
  { transport: "connect-proto", contentType: "application/proto", framing: "body", http2: false, json: false },
  { transport: "grpc-web", contentType: "application/grpc-web+proto", framing: "envelope", http2: false, json: false },
  { transport: "grpc", contentType: "application/grpc", framing: "envelope", http2: true, json: false },
] as const;

const targets: Target[] = [
  ...rpcTransports.flatMap((t) => [
    { ...t, name: `CreateRoom over ${t.transport}`, path: "/pnm.v1.RoomService/CreateRoom", rest: false, signed: true },
    {
      ...t,
      name: `VerifyToken over ${t.transport}`,
      path: "/pnm.v1.ParticipantService/VerifyToken",
      rest: false,
      signed: false,
    },
  ]),
  {
    name: "REST /auth/room/create",
    path: "/auth/room/create",
    contentType: "application/json",
    framing: "body",
    http2: false,
    rest: true,
    signed: true,
    json: true,
  },
  {
    name: "REST /api/verifyToken",
    path: "/api/verifyToken",
    contentType: "application/protobuf",
    framing: "body",
    http2: false,
    rest: true,
    signed: false,
    json: false,
  },
];

let roomCounter = 0;

let bombBytes: Buffer | undefined;
/** 32 MiB of zeros in a 32 KiB body, under the 64 KiB limit: inflating it would take 500 times the limit. */
function gzipBomb(): Buffer {
  bombBytes ??= gzipSync(Buffer.alloc(32 << 20));
  return bombBytes;
}

/** The serialized request message for `target`, and the room it would create. */
function message(target: Target): { bytes: Uint8Array; roomId?: string } {
  if (!target.signed) {
    const request = create(VerifyTokenRequestSchema, { isProduction: true });
    return {
      bytes: target.json
        ? Buffer.from(toJsonString(VerifyTokenRequestSchema, request))
        : toBinary(VerifyTokenRequestSchema, request),
    };
  }
  const roomId = `coded-${++roomCounter}`;
  const request = create(CreateRoomRequestSchema, { roomId, metadata: { roomTitle: "Coded", roomFeatures: {} } });
  return {
    roomId,
    bytes: target.json
      ? Buffer.from(toJsonString(CreateRoomRequestSchema, request))
      : toBinary(CreateRoomRequestSchema, request),
  };
}

/** Credentials for the message as the client serialized it, uncompressed: the signature is not what is refused. */
function credentials(target: Target, bytes: Uint8Array): Record<string, string> {
  if (!target.signed) return { authorization: token };
  return { "api-key": deployment.pnm.config.apiKey, "hash-signature": hmacHex(deployment.pnm.config.apiSecret, bytes) };
}

async function send(target: Target, headers: Record<string, string>, body: Uint8Array): Promise<RawAnswer> {
  return client.send({
    path: target.path,
    http2: target.http2,
    headers: { "content-type": target.contentType, ...headers },
    body,
  });
}

function expectAccepted(target: Target, answer: RawAnswer) {
  if (target.rest) {
    expect(answer.status, target.name).toBe(200);
    expect(answer.headers["pnm-failure-reason"], target.name).toBeUndefined();
  } else {
    expect(readRpcAnswer(answer), target.name).toEqual({ ok: true });
  }
}

function expectCodingRefused(target: Target, answer: RawAnswer, what: string) {
  if (target.rest) {
    expect(answer.status, what).toBe(415);
    expect(answer.headers["pnm-failure-reason"], what).toBe("BODY_MALFORMED");
    expect(answer.headers["accept-encoding"], what).toBe("identity");
    // Upstream's body, in the form the route answers in.
    if (target.json)
      expect(JSON.parse(answer.body.toString("utf8")), what).toMatchObject({
        status: false,
        status_code: "INVALID_PARAMETERS",
      });
    else expect(fromBinary(CommonResponseSchema, answer.body).status, what).toBe(false);
    return;
  }
  const reading = readRpcAnswer(answer);
  expect(reading.ok, what).toBe(false);
  expect(reading.detail?.reason, what).toBe(FailureReason.BODY_MALFORMED);
  // invalid_argument: HTTP 400 over Connect, status 3 over gRPC and gRPC-web.
  if (target.framing === "body") expect([answer.status, reading.code], what).toEqual([400, "invalid_argument"]);
  else expect([answer.status, reading.code], what).toEqual([200, 3]);
}

async function roomActive(roomId: string | undefined): Promise<boolean> {
  return roomId !== undefined && (await deployment.rooms.isRoomActive({ roomId })).isActive;
}

describe.each(targets)("$name", (target) => {
  it("serves an uncompressed body, with Content-Encoding identity or none", async () => {
    for (const headers of [{}, { "content-encoding": "identity" }] as Record<string, string>[]) {
      const { bytes, roomId } = message(target);
      const body = target.framing === "envelope" ? envelope(0, bytes) : bytes;
      expectAccepted(target, await send(target, { ...credentials(target, bytes), ...headers }, body));
      if (target.signed) expect(await roomActive(roomId)).toBe(true);
    }
  });

  it.each(codings)("refuses a body under Content-Encoding %s", async (coding) => {
    const { bytes, roomId } = message(target);
    const plain = target.framing === "envelope" ? envelope(0, bytes) : bytes;
    expectCodingRefused(
      target,
      await send(target, { ...credentials(target, bytes), "content-encoding": coding }, compress[coding](plain)),
      coding,
    );
    expect(await roomActive(roomId)).toBe(false);
  });

  it("refuses a body that names a content coding by the header alone, even when its bytes are the plain message", async () => {
    const { bytes, roomId } = message(target);
    const body = target.framing === "envelope" ? envelope(0, bytes) : bytes;
    expectCodingRefused(
      target,
      await send(target, { ...credentials(target, bytes), "content-encoding": "gzip" }, body),
      "plain bytes",
    );
    expect(await roomActive(roomId)).toBe(false);
  });

  it("refuses a decompression bomb unread, however far it would inflate", async () => {
    const bomb = gzipBomb();
    expect(bomb.length).toBeLessThan(deployment.pnm.config.maxBodyBytes);
    const { bytes } = message(target);
    const [headers, body] =
      target.framing === "envelope"
        ? [{ "grpc-encoding": "gzip" }, envelope(1, bomb)]
        : [{ "content-encoding": "gzip" }, bomb];
    expectCodingRefused(target, await send(target, { ...credentials(target, bytes), ...headers }, body), "bomb");
  });

  if (target.framing !== "envelope") return;

  it.each(codings)("refuses a compressed message envelope with grpc-encoding %s", async (coding) => {
    const { bytes, roomId } = message(target);
    expectCodingRefused(
      target,
      await send(
        target,
        { ...credentials(target, bytes), "grpc-encoding": coding },
        envelope(1, compress[coding](bytes)),
      ),
      coding,
    );
    expect(await roomActive(roomId)).toBe(false);
  });

  it("refuses a compressed message envelope without grpc-encoding", async () => {
    const { bytes, roomId } = message(target);
    expectCodingRefused(
      target,
      await send(target, credentials(target, bytes), envelope(1, gzipSync(bytes))),
      "no grpc-encoding",
    );
    expect(await roomActive(roomId)).toBe(false);
  });

  it("serves an uncompressed envelope even when grpc-encoding names a codec (the envelope's flag decides)", async () => {
    const { bytes, roomId } = message(target);
    expectAccepted(
      target,
      await send(target, { ...credentials(target, bytes), "grpc-encoding": "gzip" }, envelope(0, bytes)),
    );
    if (target.signed) expect(await roomActive(roomId)).toBe(true);
  });
});
