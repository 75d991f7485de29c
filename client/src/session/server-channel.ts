import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { NatsSubjects } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { NatsTimeoutError } from "../nats/nats-errors.js";
import type { NatsConnection } from "../nats/ws-connection.js";
import type { SessionChannel } from "./session-connection.js";

/** Whose private and worker subjects to use, and who hears what nobody asked for. */
export interface ServerChannelOptions {
  /** The subject roots from VerifyToken. */
  subjects: NatsSubjects;
  /** The room the user's subjects are scoped to. */
  roomId: string;
  /** The participant whose private and worker subjects these are. */
  userId: string;
  /** Server messages nobody is waiting for (SESSION_ENDED, notifications, …). */
  onUnsolicited: (message: NatsMsgServerToClient) => void;
}

/** The participant's requests to the pnm server over NATS, and the server's messages to it. */
export interface ServerChannel extends SessionChannel {
  /**
   * Listens on the user's private subject on a (new) connection, and sends
   * requests over it from now on; returns how to stop listening. Flush the
   * connection before the first request.
   */
  attach(nc: NatsConnection): () => void;
  /**
   * Sends a request on the user's own worker subject and waits for the
   * server's answer of `answer` event; rejects when there is none within
   * `timeoutMs` (default 10 000) with a `NatsTimeoutError` (a request lost
   * with a server instance or a NATS node that went down), or with the
   * error that kept the request from being sent.
   */
  request(
    event: NatsMsgClientToServerEvent,
    msg: string,
    answer: NatsMsgServerToClientEvent,
    timeoutMs?: number,
  ): Promise<NatsMsgServerToClient>;
}

/**
 * The participant's request/answer path: worker subject out, private subject
 * in, on whichever connection the session has at the moment.
 */
export function createServerChannel(options: ServerChannelOptions): ServerChannel {
  const { subjects, roomId, userId } = options;
  const waiters = new Map<NatsMsgServerToClientEvent, ((m: NatsMsgServerToClient) => void)[]>();
  let nc: NatsConnection | undefined;

  function deliver(data: Uint8Array): void {
    let message: NatsMsgServerToClient;
    try {
      message = fromBinary(NatsMsgServerToClientSchema, data);
    } catch {
      return;
    }
    const waiting = waiters.get(message.event)?.shift();
    if (waiting) waiting(message);
    else options.onUnsolicited(message);
  }

  return {
    attach(connection) {
      nc = connection;
      const sub = connection.subscribe(`${subjects.systemPrivate}.${roomId}.${userId}.>`, (m) => deliver(m.data));
      return () => sub.unsubscribe();
    },
    request(event, msg, answer, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        if (!nc) throw new Error("the server channel has no connection: attach one first");
        const list = waiters.get(answer) ?? [];
        waiters.set(answer, list);
        const done = (m: NatsMsgServerToClient) => {
          clearTimeout(timer);
          resolve(m);
        };
        // Waiters outlive connections, so one whose request never left must not catch a later answer.
        const fail = (error: unknown) => {
          clearTimeout(timer);
          list.splice(list.indexOf(done), 1);
          reject(error);
        };
        const timer = setTimeout(
          () =>
            fail(
              new NatsTimeoutError(`no ${NatsMsgServerToClientEvent[answer]} from the server within ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
        list.push(done);
        const envelope = create(NatsMsgClientToServerSchema, { id: crypto.randomUUID(), event, msg });
        try {
          nc.publish(
            `${subjects.systemCoreWorker}.${roomId}.${userId}`,
            toBinary(NatsMsgClientToServerSchema, envelope),
          );
        } catch (err) {
          fail(err);
        }
      });
    },
  };
}
