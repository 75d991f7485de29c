import { gzipSync } from "node:zlib";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import type { Protocol } from "@pnm/client";
import { createNodeHttp2Client } from "@pnm/client/node";
import { createPnmTransport } from "@pnm/client/protocol";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { afterAll, describe, expect, it } from "vitest";
import { rawClient, rpcProtocols } from "./support/clients.js";
import { useTestDeployment } from "./support/harness.js";
import { hmacHex, postRaw } from "./support/rest.js";

const deployment = useTestDeployment();

const body = '{"room_id":"auth-room"}';
const rpcBody = '{"roomId":"auth-room"}';

// docs/upstream-wire-contract.md §2.4, in upstream's order, plus the signature shapes upstream also refuses.
const rows = (key: string, secret: string) => [
  {
    name: "missing API-KEY",
    headers: (sig: string) => ({ "HASH-SIGNATURE": sig }),
    msg: "Missing API-KEY header.",
    statusCode: "MISSING_REQUIRED_PARAMETER",
    reason: FailureReason.API_KEY_MISSING,
  },
  {
    name: "wrong API-KEY",
    headers: (sig: string) => ({ "API-KEY": `${key}x`, "HASH-SIGNATURE": sig }),
    msg: "Invalid API key provided.",
    statusCode: "INVALID_API_KEY",
    reason: FailureReason.API_KEY_INVALID,
  },
  {
    name: "missing HASH-SIGNATURE",
    headers: () => ({ "API-KEY": key }),
    msg: "Missing HASH-SIGNATURE header.",
    statusCode: "MISSING_REQUIRED_PARAMETER",
    reason: FailureReason.SIGNATURE_MISSING,
  },
  {
    name: "signature of another body",
    headers: () => ({ "API-KEY": key, "HASH-SIGNATURE": hmacHex(secret, "{}") }),
    msg: "Failed to verify provided authentication details.",
    statusCode: "INVALID_TOKEN_OR_SIGNATURE",
    reason: FailureReason.SIGNATURE_INVALID,
  },
  {
    name: "upper-case hex signature",
    headers: (sig: string) => ({ "API-KEY": key, "HASH-SIGNATURE": sig.toUpperCase() }),
    msg: "Failed to verify provided authentication details.",
    statusCode: "INVALID_TOKEN_OR_SIGNATURE",
    reason: FailureReason.SIGNATURE_INVALID,
  },
  {
    name: "signature with another secret",
    headers: () => ({ "API-KEY": key, "HASH-SIGNATURE": hmacHex(`${secret}x`, body) }),
    msg: "Failed to verify provided authentication details.",
    statusCode: "INVALID_TOKEN_OR_SIGNATURE",
    reason: FailureReason.SIGNATURE_INVALID,
  },
  {
    name: "truncated signature",
    headers: (sig: string) => ({ "API-KEY": key, "HASH-SIGNATURE": sig.slice(0, 32) }),
    msg: "Failed to verify provided authentication details.",
    statusCode: "INVALID_TOKEN_OR_SIGNATURE",
    reason: FailureReason.SIGNATURE_INVALID,
  },
];

describe("API authentication on upstream's REST routes", () => {
  it.each(rows("k", "s").map((r) => r.name))("refuses %s with 401 and upstream's body", async (name) => {
    const row = rows(deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret).find((r) => r.name === name)!;
    for (const path of [
      "/auth/room/create",
      "/auth/room/getJoinToken",
      "/auth/room/isRoomActive",
      "/auth/room/endRoom",
    ]) {
      const answer = await postRaw(
        deployment.pnm.server.url,
        path,
        body,
        row.headers(hmacHex(deployment.pnm.config.apiSecret, body)),
      );
      expect(answer.status, path).toBe(401);
      expect(answer.body).toEqual({ status: false, msg: row.msg, status_code: row.statusCode });
      expect(answer.headers.get("pnm-failure-reason")).toBe(FailureReason[row.reason]);
    }
  });

  it("refuses a multipart request without Room-Id (upstream's fourth row), and signs a multipart body whole", async () => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const multipart = { "content-type": "multipart/form-data; boundary=x" };
    const missing = await postRaw(deployment.pnm.server.url, "/auth/room/create", body, {
      ...multipart,
      "API-KEY": apiKey,
      "HASH-SIGNATURE": hmacHex(apiSecret, body),
    });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      status: false,
      msg: "Missing Room-Id header for multipart request.",
      status_code: "MISSING_REQUIRED_PARAMETER",
    });
    // Upstream would accept the HMAC of the Room-Id alone; pnm wants the body's.
    const roomIdOnly = await postRaw(deployment.pnm.server.url, "/auth/room/create", body, {
      ...multipart,
      "Room-Id": "auth-room",
      "API-KEY": apiKey,
      "HASH-SIGNATURE": hmacHex(apiSecret, "auth-room"),
    });
    expect(roomIdOnly.status).toBe(401);
    expect(roomIdOnly.body.status_code).toBe("INVALID_TOKEN_OR_SIGNATURE");
  });

  it("answers a protobuf request's auth failure in binary, as upstream", async () => {
    const res = await fetch(`${deployment.pnm.server.url}/auth/room/isRoomActive`, {
      method: "POST",
      body,
      headers: { "content-type": "application/protobuf" },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/protobuf");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(new TextDecoder().decode(bytes)).toContain("Missing API-KEY header.");
  });

  it("accepts a correct signature", async () => {
    const answer = await postRaw(deployment.pnm.server.url, "/auth/room/isRoomActive", body, {
      "API-KEY": deployment.pnm.config.apiKey,
      "HASH-SIGNATURE": hmacHex(deployment.pnm.config.apiSecret, body),
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: true, msg: "room is not active", status_code: "SUCCESS", is_active: false });
  });
});

describe.each(rpcProtocols)("API authentication over %s", (protocol) => {
  it.each(rows("k", "s").map((r) => r.name))("refuses %s as unauthenticated, before any handler runs", async (name) => {
    const row = rows(deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret).find((r) => r.name === name)!;
    // For RPC the signature covers the serialized message, which is not the JSON signed here; any fixed signature is wrong.
    const client = rawClient(
      deployment.pnm.server.url,
      protocol,
      row.headers(hmacHex(deployment.pnm.config.apiSecret, rpcBody)),
    );
    const roomId = `never-created-${protocol}-${rows("k", "s").findIndex((r) => r.name === name)}`;
    const err = await client.createRoom({ roomId, metadata: { roomTitle: "t", roomFeatures: {} } }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toBe(row.msg);
    expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe(row.reason);
    // Nothing was written: the room does not exist.
    const probe = await postRaw(
      deployment.pnm.server.url,
      "/auth/room/isRoomActive",
      JSON.stringify({ room_id: roomId }),
      {
        "API-KEY": deployment.pnm.config.apiKey,
        "HASH-SIGNATURE": hmacHex(deployment.pnm.config.apiSecret, JSON.stringify({ room_id: roomId })),
      },
    );
    expect(probe.body.is_active).toBe(false);
  });
});

/**
 * A RoomService client whose request bodies and headers `send` rewrites on
 * the wire, after Connect has serialised and enveloped the message.
 */
const http2Clients: { close(): void }[] = [];
afterAll(() => {
  for (const c of http2Clients) c.close();
});
function wireClient(protocol: Protocol, send: (body: Uint8Array, header: Headers) => Uint8Array) {
  const baseUrl = deployment.pnm.server.url;
  const rewrite =
    (inner: UniversalClientFn): UniversalClientFn =>
    async (req) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of req.body ?? []) chunks.push(chunk);
      const header = new Headers(req.header);
      const body = send(Buffer.concat(chunks), header);
      return inner({
        ...req,
        header,
        body: (async function* () {
          yield body;
        })(),
      });
    };
  let httpClient: UniversalClientFn | undefined;
  if (protocol === "grpc") {
    const h2 = createNodeHttp2Client(baseUrl);
    http2Clients.push(h2);
    httpClient = h2.httpClient;
  }
  return createClient(RoomService, createPnmTransport({ baseUrl, protocol, httpClient }, rewrite));
}

function envelope(flags: number, payload: Uint8Array): Uint8Array {
  const frame = Buffer.alloc(5 + payload.length);
  frame[0] = flags;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  return frame;
}

const refusal = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
const roomActive = async (roomId: string) => (await deployment.rooms.isRoomActive({ roomId })).isActive;

// One rule on every protocol: HASH-SIGNATURE covers the serialized request message, uncompressed.
describe.each(["grpc-web", "grpc"] as const)("the signature over %s", (protocol) => {
  const sign = (header: Headers, bytes: Uint8Array) => {
    header.set("API-KEY", deployment.pnm.config.apiKey);
    header.set("HASH-SIGNATURE", hmacHex(deployment.pnm.config.apiSecret, bytes));
  };
  const create = (roomId: string) => ({
    roomId,
    metadata: { roomTitle: "Framed", roomFeatures: {}, extraData: { a: "1", b: "2" } },
  });

  it("covers the envelope's payload, without the 5-byte prefix", async () => {
    const roomId = `payload-signed-${protocol}`;
    const client = wireClient(protocol, (body, header) => {
      sign(header, body.subarray(5));
      return body;
    });
    expect((await client.createRoom(create(roomId))).status).toBe(true);
    expect(await roomActive(roomId)).toBe(true);
  });

  it("refuses a signature over the whole frame, prefix included (the old rule)", async () => {
    const roomId = `whole-frame-${protocol}`;
    const client = wireClient(protocol, (body, header) => {
      sign(header, body);
      return body;
    });
    const err = await refusal(client.createRoom(create(roomId)));
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe(FailureReason.SIGNATURE_INVALID);
    expect(await roomActive(roomId)).toBe(false);
  });

  it("refuses a compressed message with a pnm error instead of checking a signature over it", async () => {
    const roomId = `compressed-${protocol}`;
    for (const signed of ["uncompressed", "compressed"] as const) {
      const client = wireClient(protocol, (body, header) => {
        const message = body.subarray(5);
        const compressed = gzipSync(message);
        header.set("grpc-encoding", "gzip");
        sign(header, signed === "compressed" ? compressed : message);
        return envelope(1, compressed);
      });
      const err = await refusal(client.createRoom(create(roomId)));
      expect(err?.code, signed).toBe(Code.InvalidArgument);
      expect(err?.rawMessage, signed).toMatch(/must not be compressed/);
      expect(err?.findDetails(ErrorDetailSchema)[0]?.reason, signed).toBe(FailureReason.BODY_MALFORMED);
    }
    expect(await roomActive(roomId)).toBe(false);
  });
});

describe("the signature over Connect", () => {
  it("refuses a compressed body with a pnm error", async () => {
    const roomId = "compressed-connect";
    const client = wireClient("connect", (body, header) => {
      header.set("API-KEY", deployment.pnm.config.apiKey);
      header.set("HASH-SIGNATURE", hmacHex(deployment.pnm.config.apiSecret, body));
      header.set("content-encoding", "gzip");
      return gzipSync(body);
    });
    const err = await refusal(client.createRoom({ roomId, metadata: { roomTitle: "Gzip", roomFeatures: {} } }));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.findDetails(ErrorDetailSchema)[0]?.reason).toBe(FailureReason.BODY_MALFORMED);
    expect(await roomActive(roomId)).toBe(false);
  });
});
