import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type NatsMsgServerToClientEvent, NatsMsgServerToClientSchema } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { natsSubjects } from "../nats/subjects.js";

export interface ServerMessage {
  event: NatsMsgServerToClientEvent;
  msg?: string;
  binMsg?: Uint8Array;
}

export interface ParticipantMessenger {
  /** Sends to one participant on its private subject, through the room stream. */
  toUser(roomId: string, userId: string, message: ServerMessage): Promise<void>;
}

export function createParticipantMessenger(js: JetStreamClient): ParticipantMessenger {
  return {
    async toUser(roomId, userId, message) {
      const envelope = create(NatsMsgServerToClientSchema, { id: randomUUID(), ...message });
      await js.publish(
        `${natsSubjects.systemPrivate}.${roomId}.${userId}.system`,
        toBinary(NatsMsgServerToClientSchema, envelope),
      );
    },
  };
}
