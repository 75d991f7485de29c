import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { ChatMessageSchema, DataChannelMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import type { NatsKvUserInfo } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { NatsSubjects } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { DecryptionError } from "../e2ee/errors.js";
import type { RoomKey } from "../e2ee/room-key.js";
import type { SessionChannel, SessionConnection } from "./session-connection.js";
import { SessionError } from "./session-errors.js";
import type { SessionEmitter } from "./session-events.js";
import type { SessionState } from "./session-state.js";

type PeerChannel = "chat" | "whiteboard" | "data";
type DataMessageInit = MessageInitShape<typeof DataChannelMessageSchema>;

export interface PeerChannelsOptions {
  subjects: NatsSubjects;
  roomId: string;
  /** This participant: its own messages come back on the subjects and are not shown again. */
  userId: string;
  /** Once the session has ended nothing is shown or sent. */
  state: Pick<SessionState, "ended">;
  /** Receives chat, whiteboard and data messages, and DecryptionError for those that cannot be read. */
  events: Pick<SessionEmitter, "emit">;
}

export interface OpenPeerChannelsOptions {
  /** The room key; undefined when the room does not use E2EE. */
  key: RoomKey | undefined;
  /** Which of chat and whiteboard the room encrypts; data is encrypted whenever there is a key. */
  e2ee: { chat: boolean; whiteboard: boolean };
  /** Who this participant's chat messages are from. */
  sender: Pick<NatsKvUserInfo, "name" | "isAdmin">;
  /** Messages go out on the session's connection of the moment. */
  connection: Pick<SessionConnection, "current">;
}

export interface PeerSender {
  sendChat(text: string): Promise<void>;
  sendWhiteboard(message: DataMessageInit): Promise<void>;
  sendData(message: DataMessageInit): Promise<void>;
}

export interface PeerChannels extends SessionChannel {
  /** Subscribes to the room's chat, whiteboard and data subjects on a (new) connection; returns how to unsubscribe. */
  attach(nc: NatsConnection): () => void;
  /** Reads the subjects from now on, with the room's key where the room wants one, and returns how to send. */
  open(options: OpenPeerChannelsOptions): PeerSender;
}

const chatIdBytes = 10;

/**
 * The messages participants exchange among themselves through NATS: chat,
 * whiteboard and data, sealed with the room key where the room asks for it.
 */
export function createPeerChannels(options: PeerChannelsOptions): PeerChannels {
  const { subjects, roomId, userId, state, events } = options;
  const subjectOf: Record<PeerChannel, string> = {
    chat: `${subjects.chat}.${roomId}`,
    whiteboard: `${subjects.whiteboard}.${roomId}`,
    data: `${subjects.dataChannel}.${roomId}`,
  };
  // Set by `open`: the key a channel's messages are sealed with, undefined for plain ones.
  let keyOf: ((channel: PeerChannel) => RoomKey | undefined) | undefined;

  async function show(channel: PeerChannel, key: RoomKey | undefined, bytes: Uint8Array): Promise<void> {
    const plain = key ? await key.decrypt(bytes) : bytes;
    if (channel === "chat") {
      const chat = fromBinary(ChatMessageSchema, plain);
      if (chat.fromUserId !== userId) events.emit("chat", chat);
    } else {
      const data = fromBinary(DataChannelMessageSchema, plain);
      if (data.fromUserId !== userId) events.emit(channel, data);
    }
  }

  function subscribe(nc: NatsConnection, channel: PeerChannel) {
    return nc.subscribe(subjectOf[channel], {
      callback: (err, m) => {
        // Until the key is imported nothing can be read; messages before that are not for this session.
        if (err || state.ended || !keyOf) return;
        void show(channel, keyOf(channel), m.data).catch((e: unknown) =>
          events.emit("error", e instanceof DecryptionError ? e : new DecryptionError("message could not be read", { cause: e })),
        );
      },
    });
  }

  function open({ key, e2ee, sender, connection }: OpenPeerChannelsOptions): PeerSender {
    const sealed: Record<PeerChannel, boolean> = { chat: e2ee.chat, whiteboard: e2ee.whiteboard, data: true };
    const sealingKey = (channel: PeerChannel) => (sealed[channel] ? key : undefined);
    keyOf = sealingKey;

    async function send(channel: PeerChannel, bytes: Uint8Array): Promise<void> {
      if (state.ended) throw new SessionError(FailureReason.UNSPECIFIED, "the session has ended");
      const channelKey = sealingKey(channel);
      connection.current().publish(subjectOf[channel], channelKey ? await channelKey.encrypt(bytes) : bytes);
    }
    const dataMessage = (init: DataMessageInit) =>
      toBinary(DataChannelMessageSchema, create(DataChannelMessageSchema, { ...init, fromUserId: userId, sentAt: String(Date.now()) }));

    return {
      async sendChat(text) {
        const id = Array.from(crypto.getRandomValues(new Uint8Array(chatIdBytes)), (b) => b.toString(16).padStart(2, "0")).join("");
        const chat = create(ChatMessageSchema, {
          id,
          fromName: sender.name,
          fromUserId: userId,
          sentAt: String(Date.now()),
          message: text,
          fromAdmin: sender.isAdmin,
        });
        await send("chat", toBinary(ChatMessageSchema, chat));
      },
      sendWhiteboard: (message) => send("whiteboard", dataMessage(message)),
      sendData: (message) => send("data", dataMessage(message)),
    };
  }

  return {
    attach(nc) {
      const subscriptions = (Object.keys(subjectOf) as PeerChannel[]).map((channel) => subscribe(nc, channel));
      return () => subscriptions.forEach((s) => s.unsubscribe());
    },
    open,
  };
}
