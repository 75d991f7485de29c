import { describe, expect, it, vi } from "vitest";
import { NatsAuthorizationError } from "../../src/nats/nats-errors.js";
import { connectParticipant } from "../../src/nats/participant-connection.js";
import type { NatsConnection } from "../../src/nats/ws-connection.js";
import { nodeWebSocket } from "../../src/node/web-socket.js";
import { openSessionConnection, type SessionChannel } from "../../src/session/session-connection.js";
import { useNatsServer } from "../support/nats-server.js";

/** Records which connections it is attached to, and which it has left. */
function recordingChannel() {
  const attached: NatsConnection[] = [];
  const detached: NatsConnection[] = [];
  const channel: SessionChannel = {
    attach(nc) {
      attached.push(nc);
      return () => void detached.push(nc);
    },
  };
  return { channel, attached, detached };
}

const nats = useNatsServer();

describe("session connection", () => {
  it("attaches the channels to each new connection when the old one drops, and detaches them on close", async () => {
    const connections: NatsConnection[] = [];
    const connect = vi.fn(async () => connections[connections.push(await nats.connect()) - 1]!);
    const a = recordingChannel();
    const b = recordingChannel();
    const connection = await openSessionConnection({
      connect,
      channels: [a.channel, b.channel],
      onGiveUp: () => undefined,
      initialDelayMs: 1,
    });
    expect(a.attached).toEqual([connections[0]]);
    expect(b.attached).toEqual([connections[0]]);

    await nats.kick(connections[0]!);
    await vi.waitFor(() => expect(connection.current()).toBe(connections[1]));
    await vi.waitFor(() => expect(a.attached).toEqual([connections[0], connections[1]]));
    expect(a.detached).toEqual([connections[0]]);

    await connection.close();
    expect(a.detached).toEqual([connections[0], connections[1]]);
    expect(b.detached).toEqual([connections[0], connections[1]]);
    expect(connections[1]!.isClosed()).toBe(true);
  });

  it("replaces the connection at once when asked, and only once: the old connection's close joins that replacement", async () => {
    const connections: NatsConnection[] = [];
    const connect = vi.fn(async () => connections[connections.push(await nats.connect()) - 1]!);
    const a = recordingChannel();
    const connection = await openSessionConnection({
      connect,
      channels: [a.channel],
      onGiveUp: () => undefined,
      initialDelayMs: 1,
    });
    await connection.reconnect();
    expect(connection.current()).toBe(connections[1]);
    expect(connections[0]!.isClosed()).toBe(true);
    expect(a.attached).toEqual([connections[0], connections[1]]);
    expect(a.detached).toEqual([connections[0]]);
    // A replacement of its own, after the old connection closed, would connect a third time within a few ms.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(connect).toHaveBeenCalledTimes(2);
    expect(connection.current()).toBe(connections[1]);
    await connection.close();
  });

  it("gives up after the attempts run out, with the last error", async () => {
    const first = await nats.connect();
    let attempt = 0;
    const connect = async () => {
      if (attempt++ === 0) return first;
      throw new Error(`refused ${attempt}`);
    };
    const onGiveUp = vi.fn();
    await openSessionConnection({ connect, channels: [], onGiveUp, initialDelayMs: 1, maxAttempts: 3 });
    await nats.kick(first);
    await vi.waitFor(() => expect(onGiveUp).toHaveBeenCalledOnce());
    expect(onGiveUp.mock.calls[0]![0]).toMatchObject({ message: "refused 4" });
  });

  it("asks why when NATS refuses a reconnect: ends at once with the answer, or keeps trying when there is none", async () => {
    for (const answer of [new Error("the room ended"), undefined]) {
      const first = await nats.connect();
      let attempts = 0;
      // The test server has no token users, so a token is refused as pnm's auth callout refuses one.
      const connect = async () =>
        attempts++ === 0
          ? first
          : connectParticipant({ servers: [nats.wsUrl], token: () => "refused", webSocket: nodeWebSocket });
      const onRefused = vi.fn(async (_refusal: NatsAuthorizationError) => answer);
      const onGiveUp = vi.fn();
      await openSessionConnection({ connect, channels: [], onGiveUp, onRefused, initialDelayMs: 1, maxAttempts: 4 });
      await nats.kick(first);
      await vi.waitFor(() => expect(onGiveUp).toHaveBeenCalledOnce());
      expect(onRefused.mock.calls[0]![0]).toBeInstanceOf(NatsAuthorizationError);
      if (answer) {
        // Given up on the first refusal, with the reason the caller found.
        expect(onRefused).toHaveBeenCalledOnce();
        expect(onGiveUp).toHaveBeenCalledWith(answer);
      } else {
        expect(onRefused).toHaveBeenCalledTimes(4);
        expect(onGiveUp.mock.calls[0]![0]).toBeInstanceOf(NatsAuthorizationError);
      }
    }
  });
});
