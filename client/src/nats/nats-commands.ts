import { NatsError } from "./nats-errors.js";
import { encodeHeaders, type NatsHeaderFields } from "./nats-headers.js";

/** What a client says about itself in CONNECT. */
export interface ConnectFields {
  /** Shown by the server's monitoring and in `$SYS` events. */
  name: string;
  /** Token authentication (`auth_token`); omitted when undefined. */
  token?: string;
}

/** What goes with a published message besides its subject and payload. */
export interface PublishFields {
  /** The subject answers should go to. */
  reply?: string;
  /** Header fields, sent with HPUB. */
  headers?: NatsHeaderFields;
}

const encoder = new TextEncoder();
// Whitespace would end the token early and let a caller's string write protocol of its own.
const token = /^[^\s]+$/;

/** `PING`, for flushes and keep-alive. */
export const pingCommand = encoder.encode("PING\r\n");
/** `PONG`, the answer to the server's PING. */
export const pongCommand = encoder.encode("PONG\r\n");

/** Throws NatsError (`INVALID_ARGUMENT`) unless `subject` can go on a protocol line. */
export function checkSubject(subject: string, what = "subject"): void {
  if (!token.test(subject)) throw new NatsError("INVALID_ARGUMENT", `not a NATS ${what}: ${JSON.stringify(subject)}`);
}

/**
 * CONNECT: no `+OK` for every command (`verbose`) and no strict checks
 * (`pedantic`), headers and no-responders status messages on, and the
 * connection's own messages delivered back to it (`echo`, as the session's
 * peer channels expect: they recognise their own and skip them).
 */
export function connectCommand(fields: ConnectFields): Uint8Array {
  const connect = {
    verbose: false,
    pedantic: false,
    protocol: 1,
    lang: "pnm",
    version: "1",
    name: fields.name,
    auth_token: fields.token,
    headers: true,
    no_responders: true,
    echo: true,
  };
  return encoder.encode(`CONNECT ${JSON.stringify(connect)}\r\n`);
}

/** `SUB <subject> <sid>`. */
export function subCommand(subject: string, sid: number): Uint8Array {
  checkSubject(subject);
  return encoder.encode(`SUB ${subject} ${sid}\r\n`);
}

/** `UNSUB <sid>`. */
export function unsubCommand(sid: number): Uint8Array {
  return encoder.encode(`UNSUB ${sid}\r\n`);
}

/**
 * PUB, or HPUB when there are headers, as one buffer with its payload; throws
 * NatsError (`MAX_PAYLOAD`) when headers and payload exceed `maxPayload`.
 */
export function pubCommand(
  subject: string,
  payload: Uint8Array,
  fields: PublishFields,
  maxPayload: number,
): Uint8Array {
  checkSubject(subject);
  if (fields.reply !== undefined) checkSubject(fields.reply, "reply subject");
  const head = fields.headers ? encoder.encode(encodeHeaders(fields.headers)) : undefined;
  const total = (head?.length ?? 0) + payload.length;
  if (total > maxPayload)
    throw new NatsError(
      "MAX_PAYLOAD",
      `a message of ${total} bytes exceeds the server's maximum payload of ${maxPayload}`,
    );
  const reply = fields.reply === undefined ? "" : ` ${fields.reply}`;
  const line = encoder.encode(
    head ? `HPUB ${subject}${reply} ${head.length} ${total}\r\n` : `PUB ${subject}${reply} ${total}\r\n`,
  );
  const command = new Uint8Array(line.length + total + 2);
  command.set(line);
  if (head) command.set(head, line.length);
  command.set(payload, line.length + (head?.length ?? 0));
  command.set([13, 10], command.length - 2);
  return command;
}
