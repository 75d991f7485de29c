import { describe, expect, it } from "vitest";
import { NatsTimeoutError } from "../../src/nats/nats-errors.js";
import { connectNats } from "../../src/nats/ws-connection.js";
import { nodeWebSocket } from "../../src/node/index.js";
import { useNatsServer } from "../support/nats-server.js";

// The server pings every 300 ms and drops a client that leaves two PINGs unanswered.
const nats = useNatsServer({ pingInterval: "300ms" });

/** A bare WebSocket client that connects and then never answers the server's PINGs; resolves with how many it got once dropped. */
function silentClient(wsUrl: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new nodeWebSocket(wsUrl);
    let pings = 0;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", (event) => {
      const text = new TextDecoder().decode(event.data as ArrayBuffer);
      if (text.startsWith("INFO "))
        socket.send(new TextEncoder().encode('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n'));
      pings += text.split("PING\r\n").length - 1;
    });
    socket.addEventListener("error", () => undefined);
    socket.addEventListener("close", () => resolve(pings));
  });
}

describe("NATS connection liveness", () => {
  it("answers the server's PINGs: it stays connected where a client that does not answer is dropped", async () => {
    const nc = await nats.connect();
    const pingsBeforeDropped = await silentClient(nats.wsUrl);
    expect(pingsBeforeDropped).toBeGreaterThanOrEqual(2);
    // Connected earlier, it would have been dropped by now; two more intervals leave no doubt.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(nc.isClosed()).toBe(false);
    await nc.flush();
  });

  it("notices a server that stopped answering and closes with NatsTimeoutError", async () => {
    const nc = await connectNats({
      servers: [nats.wsUrl],
      webSocket: nodeWebSocket,
      pingIntervalMs: 100,
      maxPingsOut: 2,
    });
    nats.pause();
    try {
      const error = await nc.closed();
      expect(error).toBeInstanceOf(NatsTimeoutError);
      expect(error).toMatchObject({ code: "TIMEOUT" });
      expect(nc.isClosed()).toBe(true);
    } finally {
      nats.resume();
    }
  });

  it("gives up on a server that does not admit the connection in time, with NatsTimeoutError", async () => {
    nats.pause();
    try {
      await expect(
        connectNats({ servers: [nats.wsUrl], webSocket: nodeWebSocket, timeoutMs: 300 }),
      ).rejects.toBeInstanceOf(NatsTimeoutError);
    } finally {
      nats.resume();
    }
  });
});
