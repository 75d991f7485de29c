import { NatsError } from "./nats-errors.js";

/**
 * A message's headers as they came: the status the server set on messages of
 * its own (503 for a request nobody answers) and the fields, names as sent
 * (NATS header names are case-sensitive), each with its values in order.
 */
export interface NatsHeaders {
  /** The status line's code; undefined on messages a client published. */
  code?: number;
  /** The status line's text after the code, when there is one. */
  description?: string;
  /** The header fields by name. */
  fields: Map<string, string[]>;
}

/** Header fields to publish: a value or several per name. */
export type NatsHeaderFields = Record<string, string | readonly string[]>;

const statusLine = "NATS/1.0";
// A field name is visible ASCII without ':' (RFC 7230 token characters are a subset); values may not break the line.
const fieldName = /^[!-9;-~]+$/;
const lineBreak = /[\r\n]/;

/** The header block of an HPUB: the version line, one line per value, and the blank line that ends it. */
export function encodeHeaders(fields: NatsHeaderFields): string {
  let block = `${statusLine}\r\n`;
  for (const [name, value] of Object.entries(fields)) {
    if (!fieldName.test(name)) throw new NatsError("INVALID_ARGUMENT", `not a header name: ${JSON.stringify(name)}`);
    for (const one of typeof value === "string" ? [value] : value) {
      if (lineBreak.test(one)) throw new NatsError("INVALID_ARGUMENT", `header ${name} has a line break in its value`);
      block += `${name}: ${one}\r\n`;
    }
  }
  return `${block}\r\n`;
}

/** Reads the header block of an HMSG (its bytes up to and including the blank line). */
export function decodeHeaders(block: string): NatsHeaders {
  const lines = block.split("\r\n");
  const first = lines[0]!;
  if (!first.startsWith(statusLine))
    throw new NatsError("PROTOCOL", `header block without ${statusLine}: ${JSON.stringify(first)}`);
  const headers: NatsHeaders = { fields: new Map() };
  const status = /^ +(\d{3})(?: +(.*))?$/.exec(first.slice(statusLine.length));
  if (status) {
    headers.code = Number(status[1]);
    if (status[2]) headers.description = status[2];
  }
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new NatsError("PROTOCOL", `not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const values = headers.fields.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.fields.set(name, values);
  }
  return headers;
}
