import { type NatsConnection, type Subscription, tokenAuthenticator, wsconnect } from "@nats-io/nats-core";
import type { ParticipantSession, SessionError } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import type { NatsTarget } from "./nats-target.js";

// Raw participants speak NATS through nats.js, not through @pnm/client's own
// connection: the cases' permission checks rely on its reporting of the
// server's refusals, and the harness must not share the client's mistakes.
export type { NatsConnection } from "@nats-io/nats-core";

/** A message a raw participant received. */
export interface RecordedMessage {
  /** The subject it arrived on. */
  subject: string;
  /** The payload, copied. */
  data: Uint8Array;
}

/** A subscription that keeps every message, and the server's refusal if it sent one. */
export interface RecordedSubscription {
  /** The subject subscribed to, wildcards and all. */
  subject: string;
  /** The NATS subscription, to unsubscribe. */
  subscription: Subscription;
  /** Every message received, in order. */
  messages: RecordedMessage[];
  /** The server's permissions violation for the SUB, when it refused it. */
  refused?: string;
}

/** A raw participant connection: the harness speaks NATS itself, with the participant's permissions. */
export interface RawParticipant {
  /** Marks a raw connection. */
  kind: "raw";
  /** The connection; it does not reconnect. */
  nc: NatsConnection;
  /** From the token's claims, for the participant's own subjects. */
  roomId?: string;
  /** From the token's claims, for the participant's own subjects. */
  userId?: string;
  /** The participant's subscriptions by subject. */
  subscriptions: Map<string, RecordedSubscription>;
  /** Permission violations the server reported for publishes, in order. */
  publishRefusals: { subject: string; message: string }[];
  /** Set once the connection has closed, by the server or the harness. */
  closed: boolean;
  /** What its JetStream consumer delivered (and it acked), once a `consume` step started reading it. */
  consumer?: RecordedMessage[];
}

/** A participant running pnm's client SDK (joinSession): verify, NATS, initial data, key, media, encrypted chat. */
export interface SessionParticipant {
  /** Marks a client SDK session. */
  kind: "session";
  /** The joined session. */
  session: ParticipantSession;
  /** Decrypted chat texts from others. */
  chats: string[];
  /** Errors the session reported (DecryptionError for a message it could not read). */
  errors: Error[];
  /** Why the session ended, once the server ended it. */
  ended?: SessionError;
  /** Closes what the session needed besides itself (an HTTP/2 client). */
  release: () => void;
}

/** A participant of a case, by how it speaks to the server. */
export type Participant = RawParticipant | SessionParticipant;

/** A raw connect's outcome: admitted, or refused by the server with its error text. */
export type ConnectResult = { admitted: RawParticipant } | { refused: string };

/** A connect that failed for another reason than the server's refusal (unreachable, closed, timed out): a harness or setup problem. */
export class ConnectFailure extends Error {
  override name = "ConnectFailure";
}

// What nats.js reports when the server refuses a CONNECT (auth callout error, expired user).
const refusalErrors = new Set(["AuthorizationError", "UserAuthenticationExpiredError"]);

/** Opens a participant connection over WebSocket with `token`, as a browser would: no reconnects, so closes are visible. */
export async function connectRaw(
  nats: NatsTarget,
  token: string,
  options: { inboxPrefix?: string; name: string; roomId?: string; userId?: string },
): Promise<ConnectResult> {
  let nc: NatsConnection;
  try {
    nc = await wsconnect({
      servers: [nats.wsUrl],
      authenticator: tokenAuthenticator(() => token),
      inboxPrefix: options.inboxPrefix ?? "_INBOX",
      reconnect: false,
      name: `pnm-conformance/${options.name}`,
      wsFactory: async (url) => ({ socket: new nodeWebSocket(url), encrypted: url.startsWith("wss://") }),
    });
  } catch (err) {
    const error = err as Error;
    if (refusalErrors.has(error.name)) return { refused: error.message };
    throw new ConnectFailure(`cannot connect to ${nats.wsUrl}: ${error.name}: ${error.message}`, { cause: err });
  }
  const participant: RawParticipant = {
    kind: "raw",
    nc,
    roomId: options.roomId,
    userId: options.userId,
    subscriptions: new Map(),
    publishRefusals: [],
    closed: false,
  };
  void nc.closed().then(() => (participant.closed = true));
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== "error") continue;
      const error = status.error as Error & { operation?: string; subject?: string };
      if (error.name === "PermissionViolationError" && error.operation === "publish" && error.subject !== undefined) {
        participant.publishRefusals.push({ subject: error.subject, message: error.message });
      }
    }
  })().catch(() => undefined);
  return { admitted: participant };
}

/**
 * Subscribes and waits for the server's verdict: nats-server answers a
 * forbidden SUB with a permissions violation before the PONG of the flush
 * that follows it, so after the flush the subscription is known accepted or
 * refused.
 */
export async function subscribeRecorded(participant: RawParticipant, subject: string): Promise<RecordedSubscription> {
  const recorded: RecordedSubscription = { subject, subscription: undefined!, messages: [] };
  recorded.subscription = participant.nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) recorded.refused = err.message;
      else recorded.messages.push({ subject: msg.subject, data: msg.data.slice() });
    },
  });
  await participant.nc.flush();
  await settle();
  return recorded;
}

/**
 * Publishes and reports the server's permissions violation, if it sends one
 * (it does so before the flush's PONG). With `reply`, whoever answers (a
 * JetStream stream acknowledges into it) writes to that subject.
 */
export async function publishChecked(
  participant: RawParticipant,
  subject: string,
  payload: string | Uint8Array,
  reply?: string,
): Promise<string | undefined> {
  const before = participant.publishRefusals.length;
  participant.nc.publish(subject, payload, reply === undefined ? undefined : { reply });
  await participant.nc.flush();
  // Status events reach the iterator a tick after the protocol handler saw them.
  await settle();
  return participant.publishRefusals.slice(before).find((r) => r.subject === subject)?.message;
}

/** Resolves true when the raw connection closes or the session ends within `ms`. */
export async function closesWithin(participant: Participant, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (participant.kind === "raw" ? participant.closed : participant.ended) return true;
    await sleep(10);
  }
  return participant.kind === "raw" ? participant.closed : participant.ended !== undefined;
}

/** Closes the connection or leaves the session; never rejects. */
export async function closeParticipant(participant: Participant): Promise<void> {
  if (participant.kind === "raw") {
    await participant.nc.close().catch(() => undefined);
  } else {
    await participant.session.leave().catch(() => undefined);
    participant.release();
  }
}

/** Waits `ms` (default 25) for what the server sent before a flush's PONG to reach the handlers. */
export function settle(ms = 25): Promise<void> {
  return sleep(ms);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
