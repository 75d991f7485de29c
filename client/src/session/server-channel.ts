import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import {
  type NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { NatsSubjects } from "@pnm/protocol/pnm/v1/verify_token_pb";

export interface ServerChannelOptions {
  nc: NatsConnection;
  subjects: NatsSubjects;
  roomId: string;
  userId: string;
  /** Server messages nobody is waiting for (SESSION_ENDED, notifications, …). */
  onUnsolicited: (message: NatsMsgServerToClient) => void;
}

export interface ServerChannel {
  /** Sends a request on the user's own worker subject and waits for the server's answer of `answer` event. */
  request(event: NatsMsgClientToServerEvent, msg: string, answer: NatsMsgServerToClientEvent, timeoutMs?: number): Promise<NatsMsgServerToClient>;
  close(): void;
}

/** The participant's request/answer path: worker subject out, private subject in. */
export async function openServerChannel(options: ServerChannelOptions): Promise<ServerChannel> {
  const { nc, subjects, roomId, userId } = options;
  const waiters = new Map<NatsMsgServerToClientEvent, ((m: NatsMsgServerToClient) => void)[]>();
  const sub: Subscription = nc.subscribe(`${subjects.systemPrivate}.${roomId}.${userId}.>`, {
    callback: (err, m) => {
      if (err) return;
      let message: NatsMsgServerToClient;
      try {
        message = fromBinary(NatsMsgServerToClientSchema, m.data);
      } catch {
        return;
      }
      const waiting = waiters.get(message.event)?.shift();
      if (waiting) waiting(message);
      else options.onUnsolicited(message);
    },
  });
  await nc.flush();
  return {
    request(event, msg, answer, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const list = waiters.get(answer) ?? [];
        waiters.set(answer, list);
        const timer = setTimeout(() => {
          list.splice(list.indexOf(done), 1);
          reject(new Error(`no ${NatsMsgServerToClientEvent[answer]} from the server within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (m: NatsMsgServerToClient) => {
          clearTimeout(timer);
          resolve(m);
        };
        list.push(done);
        const envelope = create(NatsMsgClientToServerSchema, { id: crypto.randomUUID(), event, msg });
        nc.publish(`${subjects.systemCoreWorker}.${roomId}.${userId}`, toBinary(NatsMsgClientToServerSchema, envelope));
      });
    },
    close: () => sub.unsubscribe(),
  };
}
