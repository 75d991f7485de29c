import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { hmacHex } from "../support/rest.js";
import {
  emptySettingsFrame,
  http2Preface,
  http2Request,
  http2SessionWithSplitPreface,
  openRaw,
  receiveUntil,
} from "./wire.js";

// Long enough for the pauses below, short enough that a connection left undecided does not linger.
const deployment = useTestDeployment((nats) => testConfig(nats, { firstBytesTimeoutMs: 2_000 }));

describe("telling HTTP/1.1 from HTTP/2 by the first bytes", () => {
  it("answers an HTTP/1.1 request whose first segment is only the P the preface also starts with", async () => {
    const { socket, closed } = await openRaw(deployment.pnm.server.port);
    socket.write("P");
    await sleep(150);
    socket.write(
      "OST /api/verifyToken HTTP/1.1\r\nHost: pnm\r\nContent-Type: application/protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    const { received } = await closed;
    // No token: upstream's 401, in HTTP/1.1 rather than HTTP/2 SETTINGS and GOAWAY.
    expect(received.toString("latin1")).toMatch(/^HTTP\/1\.1 401 /);
  });

  it("answers an HTTP/1.1 request that matches the preface for its first bytes", async () => {
    const { socket, closed } = await openRaw(deployment.pnm.server.port);
    socket.write("PRI * HTTP/");
    await sleep(150);
    socket.write("1.1\r\nHost: pnm\r\nConnection: close\r\n\r\n");
    const { received } = await closed;
    expect(received.toString("latin1")).toMatch(/^HTTP\/1\.1 4\d\d /);
  });

  it("serves HTTP/2 whose preface arrives in two segments", async () => {
    const session = await http2SessionWithSplitPreface(deployment.pnm.server.port, 10, 150);
    try {
      expect(await http2Request(session, { ":path": "/healthz" })).toMatchObject({ status: 200, body: "ok" });
      const { apiKey, apiSecret } = deployment.pnm.config;
      const body = JSON.stringify({ room_id: "sniffing-room" });
      const answer = await http2Request(
        session,
        {
          ":method": "POST",
          ":path": "/auth/room/isRoomActive",
          "content-type": "application/json",
          "api-key": apiKey,
          "hash-signature": hmacHex(apiSecret, body),
        },
        body,
      );
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: true, is_active: false });
    } finally {
      session.close();
    }
  });

  it("takes a preface sent a byte at a time for HTTP/2", async () => {
    const { socket } = await openRaw(deployment.pnm.server.port);
    try {
      for (const byte of http2Preface) {
        socket.write(Buffer.from([byte]));
        await sleep(5);
      }
      socket.write(emptySettingsFrame);
      // The server's first frame: its SETTINGS (type 4 on stream 0).
      const received = await receiveUntil(socket, (bytes) => bytes.length >= 9);
      expect(received[3]).toBe(4);
      expect(received.readUInt32BE(5) & 0x7fffffff).toBe(0);
    } finally {
      socket.destroy();
    }
  });
});
