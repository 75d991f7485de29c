// Requests with exactly the bytes and headers a test chooses, over HTTP/1.1 or
// cleartext HTTP/2, and a reading of RPC answers that does not go through
// Connect: what any client on the wire would see.

import { Agent, request as http1Request } from "node:http";
import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type ErrorDetail, ErrorDetailSchema } from "@pnm/protocol/pnm/v1/common_pb";

export interface RawRequest {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Over cleartext HTTP/2 (prior knowledge) rather than HTTP/1.1. */
  http2: boolean;
  /** HTTP/1.1 only: send the body chunked, in two parts, without a Content-Length (HTTP/2 never announces one here). */
  chunked?: boolean;
}

export interface RawAnswer {
  status: number;
  /** Lower-case names; HTTP/2 pseudo-headers left out. */
  headers: Record<string, string>;
  /** Trailers (gRPC's status; over HTTP/1.1 those of a chunked body). */
  trailers: Record<string, string>;
  body: Buffer;
}

/** The request got no complete answer within the time allowed. */
export class NoAnswerError extends Error {}

export interface RawHttpClient {
  /** Resolves with the whole answer; rejects with NoAnswerError after `timeoutMs`, or with the connection's error. */
  send(request: RawRequest, timeoutMs?: number): Promise<RawAnswer>;
  close(): void;
}

/** A client for `baseUrl`: a small keep-alive pool for HTTP/1.1, one HTTP/2 session (reopened when the server closes it). */
export function rawHttpClient(baseUrl: string): RawHttpClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let session: ClientHttp2Session | undefined;
  const http2Session = () => {
    if (!session || session.closed || session.destroyed) {
      session = connectHttp2(baseUrl);
      session.on("error", () => {}); // a failed stream reports its own error
    }
    return session;
  };

  function send1(request: RawRequest, timeoutMs: number): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = http1Request({
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: request.path,
        agent,
        headers: request.chunked
          ? request.headers
          : { ...request.headers, "content-length": String(request.body.length) },
      });
      const timer = setTimeout(
        () => req.destroy(new NoAnswerError(`no answer from ${request.path} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: flatten(res.headers),
            trailers: flatten(res.trailers),
            body: Buffer.concat(chunks),
          });
        });
        res.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      if (request.chunked) req.write(request.body.subarray(0, request.body.length >> 1));
      req.end(request.body.subarray(request.chunked ? request.body.length >> 1 : 0));
    });
  }

  function send2(request: RawRequest, timeoutMs: number): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const stream = http2Session().request({ ":method": "POST", ":path": request.path, ...request.headers });
      const timer = setTimeout(
        () => stream.destroy(new NoAnswerError(`no answer from ${request.path} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let headers: Record<string, string> | undefined;
      let trailers: Record<string, string> = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => (headers = flatten(h)));
      stream.on("trailers", (t) => (trailers = flatten(t)));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.on("close", () => {
        clearTimeout(timer);
        // The server may reset the stream (NO_ERROR) once it has answered, while the request is still being sent.
        if (headers && stream.rstCode === 0)
          resolve({
            status: Number(headers[":status"]),
            headers: withoutPseudo(headers),
            trailers,
            body: Buffer.concat(chunks),
          });
        else
          reject(
            new Error(
              `HTTP/2 stream to ${request.path} closed without a complete answer (RST_STREAM code ${stream.rstCode})`,
            ),
          );
      });
      stream.end(request.body);
    });
  }

  return {
    send: (request, timeoutMs = 10_000) => (request.http2 ? send2(request, timeoutMs) : send1(request, timeoutMs)),
    close() {
      agent.destroy();
      session?.close();
    },
  };
}

function flatten(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function withoutPseudo(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith(":")));
}

export type RpcProtocol = "connect" | "grpc-web" | "grpc";

/** What an RPC answer says, read from the wire. */
export interface RpcReading {
  ok: boolean;
  /** The error's code: Connect's string code, or gRPC's number. */
  code?: string | number;
  /** The pnm.v1.ErrorDetail the error carries, if any. */
  detail?: ErrorDetail;
}

const errorDetailType = "pnm.v1.ErrorDetail";

/**
 * Reads an answer to a unary RPC the way the protocol defines it: a Connect
 * error is a JSON body whose `details` hold base64 messages by type name; a
 * gRPC / gRPC-web status is in `grpc-status` and `grpc-status-details-bin` (a
 * google.rpc.Status whose details are Any), sent as trailers (gRPC), as the
 * body's trailer frame (gRPC-web), or as headers when there is no body.
 */
export function readRpcAnswer(answer: RawAnswer): RpcReading {
  const contentType = (answer.headers["content-type"] ?? "").toLowerCase();
  if (contentType.startsWith("application/grpc")) {
    const status = {
      ...answer.headers,
      ...answer.trailers,
      ...(contentType.startsWith("application/grpc-web") ? grpcWebTrailers(answer.body) : {}),
    };
    if (answer.status !== 200 || status["grpc-status"] === undefined) return { ok: false };
    const code = Number(status["grpc-status"]);
    if (code === 0) return { ok: true };
    const details = status["grpc-status-details-bin"];
    return { ok: false, code, detail: details ? errorDetailOfStatus(Buffer.from(details, "base64")) : undefined };
  }
  if (answer.status === 200) return { ok: contentType === "application/json" || contentType === "application/proto" };
  if (!contentType.startsWith("application/json")) return { ok: false };
  let error: { code?: unknown; details?: { type?: unknown; value?: unknown }[] };
  try {
    error = JSON.parse(answer.body.toString("utf8")) as typeof error;
  } catch {
    return { ok: false };
  }
  const found = (Array.isArray(error.details) ? error.details : []).find(
    (d) => d.type === errorDetailType && typeof d.value === "string",
  );
  return {
    ok: false,
    code: typeof error.code === "string" ? error.code : undefined,
    detail: found ? fromBinary(ErrorDetailSchema, Buffer.from(found.value as string, "base64")) : undefined,
  };
}

/** The trailer frame of a gRPC-web body (flags 0x80): HTTP/1-style header lines. */
function grpcWebTrailers(body: Buffer): Record<string, string> {
  const trailers: Record<string, string> = {};
  for (let offset = 0; offset + 5 <= body.length; ) {
    const flags = body[offset]!;
    const length = body.readUInt32BE(offset + 1);
    const data = body.subarray(offset + 5, offset + 5 + length);
    if (flags & 0x80) {
      for (const line of data.toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    offset += 5 + length;
  }
  return trailers;
}

/** The ErrorDetail among a google.rpc.Status's details (field 3: Any, whose type_url is field 1 and value field 2). */
function errorDetailOfStatus(bytes: Uint8Array): ErrorDetail | undefined {
  const status = new BinaryReader(bytes);
  while (status.pos < status.len) {
    const [field, wireType] = status.tag();
    if (field !== 3) {
      status.skip(wireType);
      continue;
    }
    const any = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array(0);
    while (any.pos < any.len) {
      const [anyField, anyWireType] = any.tag();
      if (anyField === 1) typeUrl = any.string();
      else if (anyField === 2) value = any.bytes();
      else any.skip(anyWireType);
    }
    if (typeUrl.endsWith(`/${errorDetailType}`)) return fromBinary(ErrorDetailSchema, value);
  }
  return undefined;
}

/** A gRPC / gRPC-web message envelope. */
export function envelope(flags: number, payload: Uint8Array, length = payload.length): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame[0] = flags;
  frame.writeUInt32BE(length >>> 0, 1);
  frame.set(payload, 5);
  return frame;
}
