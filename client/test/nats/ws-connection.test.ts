import { type Msg, headers as natsJsHeaders } from "@nats-io/nats-core";
import { describe, expect, it, vi } from "vitest";
import {
  NatsAuthorizationError,
  NatsConnectionClosedError,
  type NatsError,
  NatsPermissionError,
} from "../../src/nats/nats-errors.js";
import type { NatsMessage } from "../../src/nats/nats-parser.js";
import { connectParticipant } from "../../src/nats/participant-connection.js";
import { connectNats } from "../../src/nats/ws-connection.js";
import { nodeWebSocket } from "../../src/node/index.js";
import { useNatsServer } from "../support/nats-server.js";

const nats = useNatsServer();
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Collects what a subscription of ours receives. */
function inbox() {
  const received: NatsMessage[] = [];
  return { received, callback: (m: NatsMessage) => void received.push(m) };
}

/** Resolves with the first `count` messages a nats.js subscription receives. */
function natsJsReceives(
  nc: Awaited<ReturnType<typeof nats.connectNatsJs>>,
  subject: string,
  count = 1,
): Promise<Msg[]> {
  const got: Msg[] = [];
  return new Promise((resolve) => {
    nc.subscribe(subject, {
      callback: (_err, m) => {
        got.push(m);
        if (got.length === count) resolve(got);
      },
    });
  });
}

describe("NATS over WebSocket", () => {
  it("publishes and receives: another connection and nats.js see the message as sent, reply subject included", async () => {
    const alice = await nats.connect();
    const bob = await nats.connect();
    const observer = await nats.connectNatsJs();
    const seen = natsJsReceives(observer, "chat.room");
    await observer.flush();
    const { received, callback } = inbox();
    const subscription = bob.subscribe("chat.>", callback);
    expect(subscription.subject).toBe("chat.>");
    await bob.flush();

    alice.publish("chat.room", "héllo", { reply: "answers.alice" });
    const [observed] = await seen;
    expect(observed!.subject).toBe("chat.room");
    expect(observed!.string()).toBe("héllo");
    expect(observed!.reply).toBe("answers.alice");
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]).toMatchObject({ subject: "chat.room", reply: "answers.alice" });
    expect(text(received[0]!.data)).toBe("héllo");
  });

  it("delivers its own messages back to it (echo), which the session's peer channels rely on", async () => {
    const nc = await nats.connect();
    const { received, callback } = inbox();
    nc.subscribe("echo.test", callback);
    nc.publish("echo.test", new Uint8Array([1, 2, 3]));
    await nc.flush();
    await vi.waitFor(() => expect(received.map((m) => [...m.data])).toEqual([[1, 2, 3]]));
  });

  it("reads messages nats.js publishes in bursts (several to a frame) and in pieces (one over several frames)", async () => {
    // The frames as they arrive, to show that the server did merge and split messages. Introduced as a
    // browser, the client gets what browsers get: nats-server cuts its output into frames of 4 KiB for them.
    const frames: number[] = [];
    const browserLike = nodeWebSocket as unknown as new (
      url: string,
      protocols: undefined,
      options: { headers: Record<string, string> },
    ) => WebSocket;
    const countingWebSocket = class extends browserLike {
      constructor(url: string) {
        super(url, undefined, { headers: { "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) pnm-client-test" } });
        this.addEventListener("message", (event) => void frames.push((event.data as ArrayBuffer).byteLength));
      }
    };
    const nc = await connectNats({ servers: [nats.wsUrl], webSocket: countingWebSocket });
    const { received, callback } = inbox();
    nc.subscribe("burst.>", callback);
    await nc.flush();
    const publisher = await nats.connectNatsJs();
    const big = new Uint8Array(nc.info.max_payload).map((_, i) => i % 256);
    for (let i = 0; i < 500; i++) publisher.publish(`burst.${i}`, `message ${i}`);
    publisher.publish("burst.big", big);
    publisher.publish("burst.after", "after");
    await publisher.flush();
    await vi.waitFor(() => expect(received).toHaveLength(502));
    expect(received.slice(0, 500).map((m) => `${m.subject} ${text(m.data)}`)).toEqual(
      Array.from({ length: 500 }, (_, i) => `burst.${i} message ${i}`),
    );
    expect(Buffer.from(received[500]!.data).equals(Buffer.from(big))).toBe(true);
    expect(text(received[501]!.data)).toBe("after");
    // Fewer frames than messages: frames held several; every frame smaller than the big message: it spanned several.
    expect(frames.length).toBeLessThan(received.length);
    expect(Math.max(...frames)).toBeLessThan(big.length);
    await nc.close();
  });

  it("sends and reads headers: nats.js reads ours, we read nats.js's", async () => {
    const nc = await nats.connect();
    const observer = await nats.connectNatsJs();
    const seen = natsJsReceives(observer, "with.headers");
    await observer.flush();
    nc.publish("with.headers", "body", { headers: { "Pnm-Trace": "t1", Many: ["a", "b"] } });
    const [observed] = await seen;
    expect(observed!.headers?.get("Pnm-Trace")).toBe("t1");
    expect(observed!.headers?.values("Many")).toEqual(["a", "b"]);
    expect(observed!.string()).toBe("body");

    const { received, callback } = inbox();
    nc.subscribe("from.natsjs", callback);
    await nc.flush();
    const sent = natsJsHeaders();
    sent.set("X-Case", "Kept");
    sent.append("X-Case", "twice");
    observer.publish("from.natsjs", "payload", { headers: sent });
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]!.headers?.fields.get("X-Case")).toEqual(["Kept", "twice"]);
    expect(text(received[0]!.data)).toBe("payload");
  });

  it("flush resolves once the server has processed what was sent before it", async () => {
    const nc = await nats.connect();
    const { received, callback } = inbox();
    nc.subscribe("flushed", callback);
    await nc.flush();
    // The SUB is known to the server now: a message from anyone else reaches it.
    const other = await nats.connectNatsJs();
    other.publish("flushed", "1");
    await other.flush();
    await vi.waitFor(() => expect(received).toHaveLength(1));
  });

  it("takes a message of the server's maximum payload and refuses a larger one before sending it", async () => {
    const nc = await nats.connect();
    const max = nc.info.max_payload;
    expect(max).toBeGreaterThan(0);
    const wire = await nats.wiretap();
    nc.publish("max.payload", new Uint8Array(max));
    expect(() => nc.publish("max.payload", new Uint8Array(max + 1))).toThrow(
      expect.objectContaining({ code: "MAX_PAYLOAD" }),
    );
    nc.publish("max.payload", "still open");
    await nats.settle();
    expect(wire.map((m) => m.data.length)).toEqual([max, "still open".length]);
    expect(nc.isClosed()).toBe(false);
  });

  it("reports a refused subscription as NatsPermissionError for its subject: its closed resolves to it, the connection stays", async () => {
    const errors: NatsError[] = [];
    const nc = await connectNats({
      servers: [nats.wsUrl],
      webSocket: nodeWebSocket,
      onError: (e) => void errors.push(e),
    });
    const refused = nc.subscribe("forbidden.x", () => undefined);
    const allowed = nc.subscribe("allowed.x", () => undefined);
    await nc.flush();
    const error = await refused.closed;
    expect(error).toBeInstanceOf(NatsPermissionError);
    expect(error).toMatchObject({ code: "PERMISSION", operation: "subscribe", subject: "forbidden.x" });
    expect(errors).toEqual([error]);
    allowed.unsubscribe();
    expect(await allowed.closed).toBeUndefined();
    await nc.flush();
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });

  it("reports a refused publish as NatsPermissionError for its subject, and delivers nothing", async () => {
    const errors: NatsError[] = [];
    const nc = await connectNats({
      servers: [nats.wsUrl],
      webSocket: nodeWebSocket,
      onError: (e) => void errors.push(e),
    });
    const wire = await nats.wiretap();
    nc.publish("forbidden.y", "no");
    nc.publish("allowed.y", "yes");
    await nc.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(NatsPermissionError);
    expect(errors[0]).toMatchObject({ operation: "publish", subject: "forbidden.y" });
    await nats.settle();
    expect(wire.map((m) => m.subject)).toEqual(["allowed.y"]);
    await nc.close();
  });

  it("rejects a connect whose token the server refuses with NatsAuthorizationError", async () => {
    // The test server has no token users: a token is an unknown credential, refused as pnm's auth callout refuses one.
    const refused = connectParticipant({ servers: [nats.wsUrl], token: () => "not-a-user", webSocket: nodeWebSocket });
    await expect(refused).rejects.toBeInstanceOf(NatsAuthorizationError);
    await expect(refused).rejects.toMatchObject({ code: "AUTHORIZATION", message: "Authorization Violation" });
  });

  it("reads the token at connect, so each connect presents the current one", async () => {
    const token = vi.fn(() => "t");
    await expect(connectParticipant({ servers: [nats.wsUrl], token, webSocket: nodeWebSocket })).rejects.toBeInstanceOf(
      NatsAuthorizationError,
    );
    expect(token).toHaveBeenCalledOnce();
  });

  it("resolves closed() with NatsConnectionClosedError when the server kicks it; sending then throws, subscriptions end", async () => {
    const nc = await nats.connect();
    const subscription = nc.subscribe("kicked", () => undefined);
    await nc.flush();
    await nats.kick(nc);
    expect(await nc.closed()).toBeInstanceOf(NatsConnectionClosedError);
    expect(nc.isClosed()).toBe(true);
    expect(await subscription.closed).toBeUndefined();
    expect(() => nc.publish("kicked", "x")).toThrow(NatsConnectionClosedError);
    expect(() => nc.subscribe("kicked", () => undefined)).toThrow(NatsConnectionClosedError);
    await expect(nc.flush()).rejects.toBeInstanceOf(NatsConnectionClosedError);
  });

  it("resolves closed() with undefined after close(), having sent what was published before it", async () => {
    const nc = await nats.connect();
    const wire = await nats.wiretap();
    nc.publish("last.words", "bye");
    await nc.close();
    expect(await nc.closed()).toBeUndefined();
    expect(nc.isClosed()).toBe(true);
    await nats.settle();
    expect(wire.map((m) => text(m.data))).toEqual(["bye"]);
  });

  it("tries the servers in order: an unreachable one is skipped, none reachable rejects with NatsConnectionClosedError", async () => {
    const dead = "ws://127.0.0.1:1";
    const nc = await connectNats({ servers: [dead, nats.wsUrl], webSocket: nodeWebSocket });
    await nc.flush();
    await nc.close();
    await expect(connectNats({ servers: [dead], webSocket: nodeWebSocket })).rejects.toBeInstanceOf(
      NatsConnectionClosedError,
    );
  });
});
