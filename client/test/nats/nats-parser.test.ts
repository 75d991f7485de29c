import { describe, expect, it } from "vitest";
import { NatsAuthorizationError, NatsError, NatsPermissionError } from "../../src/nats/nats-errors.js";
import { createNatsParser, type NatsServerOp } from "../../src/nats/nats-parser.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Feeds `chunks` to a fresh parser and returns what it read, payloads as text for comparison. */
function parse(...chunks: Uint8Array[]) {
  const ops: NatsServerOp[] = [];
  const parser = createNatsParser((op) => void ops.push(op));
  for (const chunk of chunks) parser.feed(chunk);
  return ops.map((op) => (op.op === "MSG" ? { ...op, message: { ...op.message, data: text(op.message.data) } } : op));
}

/** `data` cut at the given offsets. */
function cut(data: Uint8Array, ...at: number[]): Uint8Array[] {
  const bounds = [0, ...at, data.length];
  return bounds.slice(1).map((end, i) => data.slice(bounds[i], end));
}

const traceHeaders = "NATS/1.0\r\nTrace: a:b\r\n\r\n";
// A stream as nats-server writes it (copied from a real server's WebSocket frames), every operation once.
const info = `INFO {"server_id":"NABTI6KE2WK2OC2BCYLTSESAPKV33Z5O6DRECEIZTF6YCRKADLZS665R","version":"2.10.27","proto":1,"headers":true,"max_payload":1048576,"client_id":7} \r\n`;
const stream = bytes(
  info +
    "PONG\r\n" +
    "MSG chat.room 1 5\r\nhello\r\n" +
    "MSG worker.room.alice 2 _INBOX_room.alice.x1 0\r\n\r\n" +
    `HMSG private.room.alice.events 3 ${traceHeaders.length} ${traceHeaders.length + 3}\r\n${traceHeaders}hey\r\n` +
    "PING\r\n" +
    "+OK\r\n" +
    `-ERR 'Permissions Violation for Subscription to "forbidden.x"'\r\n`,
);
const expected = [
  {
    op: "INFO",
    info: {
      server_id: "NABTI6KE2WK2OC2BCYLTSESAPKV33Z5O6DRECEIZTF6YCRKADLZS665R",
      version: "2.10.27",
      proto: 1,
      headers: true,
      max_payload: 1048576,
      client_id: 7,
    },
  },
  { op: "PONG" },
  { op: "MSG", sid: 1, message: { subject: "chat.room", data: "hello" } },
  { op: "MSG", sid: 2, message: { subject: "worker.room.alice", reply: "_INBOX_room.alice.x1", data: "" } },
  {
    op: "MSG",
    sid: 3,
    message: { subject: "private.room.alice.events", data: "hey", headers: { fields: new Map([["Trace", ["a:b"]]]) } },
  },
  { op: "PING" },
  { op: "+OK" },
  {
    op: "-ERR",
    error: new NatsPermissionError(
      "subscribe",
      "forbidden.x",
      `Permissions Violation for Subscription to "forbidden.x"`,
    ),
  },
];

describe("NATS protocol parser", () => {
  it("reads every operation of a stream that comes in one chunk", () => {
    expect(parse(stream)).toEqual(expected);
  });

  it("reads the same whichever byte the stream is cut at, once or twice", () => {
    for (let i = 1; i < stream.length; i++) expect(parse(...cut(stream, i))).toEqual(expected);
    for (let i = 1; i < stream.length; i += 7) {
      for (let j = i + 1; j < stream.length; j += 5) expect(parse(...cut(stream, i, j))).toEqual(expected);
    }
  });

  it("reads the same when every byte comes on its own", () => {
    expect(parse(...cut(stream, ...Array.from({ length: stream.length - 1 }, (_, i) => i + 1)))).toEqual(expected);
  });

  it("takes a payload by its byte count, CRLF and protocol words inside it included", () => {
    const payload = "PING\r\nMSG a 1 2\r\n-ERR 'x'\r\n";
    expect(parse(bytes(`MSG a 1 ${payload.length}\r\n${payload}\r\nPONG\r\n`))).toEqual([
      { op: "MSG", sid: 1, message: { subject: "a", data: payload } },
      { op: "PONG" },
    ]);
  });

  it("reads a payload of a MiB that arrives in frames of 64 KiB, and what follows it in the last frame", () => {
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31) % 251);
    const head = bytes(`MSG big 9 ${payload.length}\r\n`);
    const all = new Uint8Array(head.length + payload.length + 8);
    all.set(head);
    all.set(payload, head.length);
    all.set(bytes("\r\nPING\r\n"), head.length + payload.length);
    const ops: NatsServerOp[] = [];
    const parser = createNatsParser((op) => void ops.push(op));
    for (let at = 0; at < all.length; at += 65_536) parser.feed(all.subarray(at, at + 65_536));
    expect(ops.map((op) => op.op)).toEqual(["MSG", "PING"]);
    const message = ops[0]!.op === "MSG" ? ops[0]!.message : undefined;
    expect(message?.subject).toBe("big");
    expect(Buffer.from(message!.data).equals(Buffer.from(payload))).toBe(true);
  });

  it("reads headers: the status line's code and text, several values per name, names as sent", () => {
    const block = "NATS/1.0 503 No Responders\r\nX-Key: one\r\nx-key: lower\r\nX-Key:  two \r\n\r\n";
    const [op] = parse(bytes(`HMSG _INBOX.a.b 4 ${block.length} ${block.length}\r\n${block}\r\n`));
    expect(op).toEqual({
      op: "MSG",
      sid: 4,
      message: {
        subject: "_INBOX.a.b",
        data: "",
        headers: {
          code: 503,
          description: "No Responders",
          fields: new Map([
            ["X-Key", ["one", "two"]],
            ["x-key", ["lower"]],
          ]),
        },
      },
    });
  });

  it("reads a status line with a code and no text, as the server sends for no responders", () => {
    const block = "NATS/1.0 503\r\n\r\n";
    const [op] = parse(bytes(`HMSG _INBOX.a.b 1 ${block.length} ${block.length}\r\n${block}\r\n`));
    expect(op).toMatchObject({ message: { headers: { code: 503, fields: new Map() } } });
    expect(op!.op === "MSG" && "description" in op.message.headers!).toBe(false);
  });

  it("turns the server's -ERR lines into errors by what they say", () => {
    const errors = parse(
      bytes(
        [
          `-ERR 'Permissions Violation for Publish to "sysCoreWorker.r.bob"'`,
          `-ERR 'Permissions Violation for Subscription to "chat.>" using queue "q"'`,
          "-ERR 'Authorization Violation'",
          "-ERR 'User Authentication Expired'",
          "-ERR 'Authentication Timeout'",
          "-ERR 'Maximum Payload Violation'",
          "",
        ].join("\r\n"),
      ),
    ).map((op) => (op.op === "-ERR" ? op.error : undefined));
    expect(errors[0]).toBeInstanceOf(NatsPermissionError);
    expect(errors[0]).toMatchObject({ code: "PERMISSION", operation: "publish", subject: "sysCoreWorker.r.bob" });
    expect(errors[1]).toMatchObject({ code: "PERMISSION", operation: "subscribe", subject: "chat.>" });
    expect(errors[2]).toBeInstanceOf(NatsAuthorizationError);
    expect(errors[2]).toMatchObject({ code: "AUTHORIZATION", message: "Authorization Violation" });
    expect(errors[3]).toMatchObject({ name: "NatsAuthorizationError", code: "AUTHENTICATION_EXPIRED" });
    expect(errors[4]).toMatchObject({ name: "NatsAuthorizationError", code: "AUTHORIZATION" });
    expect(errors[5]).toBeInstanceOf(NatsError);
    expect(errors[5]).toMatchObject({ name: "NatsError", code: "SERVER_ERROR", message: "Maximum Payload Violation" });
  });

  it("refuses what is not the protocol, with a PROTOCOL error", () => {
    const broken = [
      "HELLO there\r\n",
      "MSG a 1\r\n",
      "MSG a 1 x\r\nxx\r\n",
      "MSG a 1 2\r\nabc\r\n",
      "HMSG a 1 5 3\r\nabc\r\n",
      "HMSG a 1 4 4\r\nabcd\r\n",
      "INFO {not json}\r\n",
    ];
    for (const line of broken) {
      let thrown: unknown;
      try {
        parse(bytes(line));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, line).toBeInstanceOf(NatsError);
      expect((thrown as NatsError).code, line).toBe("PROTOCOL");
    }
  });

  it("gives up on a control line that never ends instead of buffering without bound", () => {
    const parser = createNatsParser(() => undefined);
    parser.feed(bytes("INFO {"));
    expect(() => parser.feed(new Uint8Array(1 << 20).fill(0x61))).toThrow(NatsError);
  });
});
