// Raw connections for the listener's tests: what a client sends, byte by
// byte, and when the server closes the connection.
import { once } from "node:events";
import { type ClientHttp2Session, connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import { connect, type Socket } from "node:net";
import { Duplex } from "node:stream";
import type { Logger } from "../../src/logger.js";

export const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** An empty SETTINGS frame: what a client sends right after the preface. */
export const emptySettingsFrame = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
/** A PING frame: keeps bytes flowing without opening a stream. */
export const pingFrame = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

export interface RawConnection {
  socket: Socket;
  /** When the server closed the connection (performance.now()), and everything it sent. */
  closed: Promise<{ at: number; received: Buffer }>;
}

/** `allowHalfOpen`: the client keeps its side open after the server's FIN, as a peer that ignores a close would. */
export async function openRaw(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawConnection> {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: options.allowHalfOpen ?? false });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  // Resets and writes after a close are what several tests provoke.
  socket.on("error", () => {});
  const closed = new Promise<{ at: number; received: Buffer }>((resolve) =>
    socket.once("close", () => resolve({ at: performance.now(), received: Buffer.concat(chunks) })),
  );
  // A refused connection may be reset as soon as it is accepted; `closed` tells.
  await Promise.race([new Promise<void>((resolve) => socket.once("connect", () => resolve())), closed]);
  return { socket, closed };
}

/** Writes `bytes` every `everyMs` until the connection closes. */
export function dribble(socket: Socket, bytes: string | Buffer, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) return clearInterval(timer);
    socket.write(bytes);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** Resolves with what the server sent once `done` says it is enough, or rejects after `timeoutMs`. */
export async function receiveUntil(
  socket: Socket,
  done: (received: Buffer) => boolean,
  timeoutMs = 2_000,
): Promise<Buffer> {
  let received = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(received.toString("latin1"))}`),
        ),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!done(received)) return;
      clearTimeout(timer);
      socket.off("data", onData);
      resolve(received);
    };
    socket.on("data", onData);
  });
}

export interface Http2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session, its whole answer. */
export function http2Request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string,
): Promise<Http2Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let responseHeaders: IncomingHttpHeaders = {};
    let text = "";
    req.setEncoding("utf8");
    req.on("response", (h) => (responseHeaders = h));
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, body: text }));
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}

/**
 * An HTTP/2 client session whose first write (the preface, and what follows
 * it) reaches the server in two segments, `delayMs` apart. Node's client
 * writes through a native handle when it has a socket, so it gets a stream.
 */
export async function http2SessionWithSplitPreface(
  port: number,
  splitAt: number,
  delayMs: number,
): Promise<ClientHttp2Session> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  let first = true;
  const transport = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      if (!first) return void socket.write(chunk, callback);
      first = false;
      if (chunk.length <= splitAt)
        return callback(new Error(`the first write has ${chunk.length} bytes, too few to split at ${splitAt}`));
      socket.write(chunk.subarray(0, splitAt));
      setTimeout(() => socket.write(chunk.subarray(splitAt), callback), delayMs);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on("data", (chunk: Buffer) => transport.push(chunk));
  socket.on("end", () => transport.push(null));
  socket.on("error", (err) => transport.destroy(err));
  return connectHttp2(`http://127.0.0.1:${port}`, { createConnection: () => transport });
}

export interface RecordingLogger extends Logger {
  readonly infos: string[];
  readonly errors: string[];
}

export function recordingLogger(): RecordingLogger {
  const infos: string[] = [];
  const errors: string[] = [];
  return {
    infos,
    errors,
    info: (message) => void infos.push(message),
    error: (message, err) => void errors.push(`${message} ${err instanceof Error ? err.message : String(err ?? "")}`),
  };
}
