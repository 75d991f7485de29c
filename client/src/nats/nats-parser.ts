import { errorFromServer, NatsError } from "./nats-errors.js";
import { decodeHeaders, type NatsHeaders } from "./nats-headers.js";

/** The server's INFO, as it sends it (snake_case); only what pnm reads is named. */
export interface NatsServerInfo {
  /** The server's ID, as `$SYS.REQ.SERVER.<id>.…` addresses it. */
  server_id: string;
  /** The server's version. */
  version: string;
  /** The largest message (headers and payload) the server accepts, in bytes. */
  max_payload: number;
  /** True when the server takes headers (HPUB) and sends them (HMSG). */
  headers?: boolean;
  /** This connection's ID on the server (in `$SYS` requests such as KICK). */
  client_id?: number;
  /** Whatever else the server says. */
  [field: string]: unknown;
}

/** A message delivered to a subscription. */
export interface NatsMessage {
  /** The subject it was published on. */
  subject: string;
  /** Where the publisher wants answers; undefined when it named none. */
  reply?: string;
  /** The payload. */
  data: Uint8Array;
  /** The headers, when it came with any (HMSG). */
  headers?: NatsHeaders;
}

/** One operation from the server. */
export type NatsServerOp =
  | { op: "INFO"; info: NatsServerInfo }
  | { op: "MSG"; sid: number; message: NatsMessage }
  | { op: "PING" | "PONG" | "+OK" }
  | { op: "-ERR"; error: NatsError };

/** Reads the server's side of the protocol from bytes as they come. */
export interface NatsParser {
  /**
   * Takes the next bytes, whatever their boundaries: an operation may span
   * chunks and a chunk may hold several. Throws NatsError (`PROTOCOL`) on
   * bytes that are not the protocol; the stream cannot be read past them.
   */
  feed(chunk: Uint8Array): void;
}

/** A MSG or HMSG line read, its payload not yet. */
interface PendingMessage {
  subject: string;
  sid: number;
  reply?: string;
  headerBytes: number;
  /** Payload (headers included) and the CRLF after it. */
  needs: number;
}

const CR = 13;
const LF = 10;
// Longer than any INFO a cluster sends, short of letting a broken stream fill the memory.
const maxControlLine = 1 << 20;
const decoder = new TextDecoder();

const protocolError = (message: string) => new NatsError("PROTOCOL", message);

function count(text: string | undefined, line: string): number {
  if (text === undefined || !/^\d+$/.test(text)) throw protocolError(`bad byte count in ${JSON.stringify(line)}`);
  return Number(text);
}

/** MSG <subject> <sid> [reply-to] <#bytes> and HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>. */
function messageLine(args: string[], withHeaders: boolean, line: string): PendingMessage {
  const counts = withHeaders ? 2 : 1;
  if (args.length !== 2 + counts && args.length !== 3 + counts)
    throw protocolError(`malformed ${JSON.stringify(line)}`);
  const total = count(args[args.length - 1], line);
  const headerBytes = withHeaders ? count(args[args.length - 2], line) : 0;
  if (headerBytes > total) throw protocolError(`header bytes beyond the message in ${JSON.stringify(line)}`);
  const reply = args.length === 3 + counts ? args[2] : undefined;
  return { subject: args[0]!, sid: count(args[1], line), reply, headerBytes, needs: total + 2 };
}

function controlLine(line: string): NatsServerOp | PendingMessage {
  const space = line.search(/[ \t]/);
  const op = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const rest = space < 0 ? "" : line.slice(space + 1).trim();
  switch (op) {
    case "MSG":
    case "HMSG":
      return messageLine(rest.split(/[ \t]+/), op === "HMSG", line);
    case "PING":
    case "PONG":
    case "+OK":
      return { op };
    case "-ERR":
      return { op, error: errorFromServer(rest) };
    case "INFO":
      try {
        return { op, info: JSON.parse(rest) as NatsServerInfo };
      } catch {
        throw protocolError(`INFO that is not JSON: ${JSON.stringify(rest)}`);
      }
    default:
      throw protocolError(`unknown operation ${JSON.stringify(line.slice(0, 64))}`);
  }
}

function indexOfCrlf(data: Uint8Array, from: number): number {
  for (let i = data.indexOf(CR, from); i >= 0; i = data.indexOf(CR, i + 1)) {
    if (data[i + 1] === LF) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const all = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/**
 * A parser of the server's operations (INFO, MSG, HMSG, PING, PONG, +OK,
 * -ERR) that calls `onOp` for each, in order. A payload's bytes are not
 * copied: a message's `data` is a view into the frame it came in.
 */
export function createNatsParser(onOp: (op: NatsServerOp) => void): NatsParser {
  // Bytes not yet consumed, kept as they came until there is enough to read:
  // a large payload arriving in many frames is then joined once, not once per frame.
  let parts: Uint8Array[] = [];
  let size = 0;
  let pending: PendingMessage | undefined;

  function deliver(message: PendingMessage, data: Uint8Array, at: number): void {
    const end = at + message.needs - 2;
    if (data[end] !== CR || data[end + 1] !== LF)
      throw protocolError(`the payload on ${message.subject} is not followed by CRLF`);
    const { subject, sid, reply, headerBytes } = message;
    const delivered: NatsMessage = { subject, data: data.subarray(at + headerBytes, end) };
    if (reply !== undefined) delivered.reply = reply;
    if (headerBytes > 0) delivered.headers = decodeHeaders(decoder.decode(data.subarray(at, at + headerBytes)));
    onOp({ op: "MSG", sid, message: delivered });
  }

  return {
    feed(chunk) {
      parts.push(chunk);
      size += chunk.length;
      if (pending && size < pending.needs) return;
      const data = parts.length === 1 ? parts[0]! : concat(parts, size);
      let at = 0;
      for (;;) {
        if (pending) {
          if (data.length - at < pending.needs) break;
          const message = pending;
          pending = undefined;
          deliver(message, data, at);
          at += message.needs;
          continue;
        }
        const eol = indexOfCrlf(data, at);
        if (eol < 0) break;
        const parsed = controlLine(decoder.decode(data.subarray(at, eol)));
        at = eol + 2;
        if ("op" in parsed) onOp(parsed);
        else pending = parsed;
      }
      parts = at < data.length ? [data.subarray(at)] : [];
      size = data.length - at;
      if (!pending && size > maxControlLine) throw protocolError(`no end of line in ${size} bytes`);
    },
  };
}
