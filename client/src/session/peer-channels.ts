import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { ChatMessageSchema, DataChannelMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import type { NatsKvUserInfo } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { NatsSubjects } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { DecryptionError } from "../e2ee/errors.js";
import type { RoomKey } from "../e2ee/room-key.js";
import type { NatsConnection } from "../nats/ws-connection.js";
import type { SessionChannel, SessionConnection } from "./session-connection.js";
import { SessionError } from "./session-errors.js";
import type { PeerMessageSender, SessionEmitter } from "./session-events.js";
import type { SessionState } from "./session-state.js";

/** The three kinds of peer message. */
export type PeerChannel = "chat" | "whiteboard" | "data";
type DataMessageInit = MessageInitShape<typeof DataChannelMessageSchema>;

/** The room's peer subjects, and where what arrives on them goes. */
export interface PeerChannelsOptions {
  /** The subject roots from VerifyToken; the room ID is appended to each. */
  subjects: NatsSubjects;
  /** The room whose chat, whiteboard and data subjects these are. */
  roomId: string;
  /** This participant: it publishes on its own subjects, and its own messages are not shown again. */
  userId: string;
  /** Once the session has ended nothing is shown or sent. */
  state: Pick<SessionState, "ended">;
  /** Receives chat, whiteboard and data messages, and DecryptionError or SenderMismatchError for those it drops. */
  events: Pick<SessionEmitter, "emit">;
}

/**
 * A peer message came on one participant's own subject but names another as
 * its sender: someone tried to speak in another's name. The message is
 * dropped; `sender` is who NATS says sent it.
 */
export class SenderMismatchError extends Error {
  override readonly name = "SenderMismatchError";
  /** Where it came: chat, whiteboard or data. */
  readonly channel: PeerChannel;
  /** Who sent it: the user whose own subject it came on. */
  readonly sender: string;
  /** Whom it claimed to be from (`fromUserId`). */
  readonly claimed: string;
  constructor(channel: PeerChannel, sender: string, claimed: string) {
    super(`a ${channel} message from ${sender} claimed to be from ${JSON.stringify(claimed)}; dropped`);
    this.channel = channel;
    this.sender = sender;
    this.claimed = claimed;
  }
}

/**
 * The header on the copy of a message that pnm's client publishes on
 * upstream's shared subject for upstream's clients, naming the sender it
 * claims (docs/upstream-wire-contract.md §8.3). Anyone may set it, so it
 * vouches for nothing: it only tells pnm's clients that the message also
 * came on the sender's own subject, where they read it.
 */
const copySenderHeader = "Pnm-Sender";

/** What `open` needs, known once the room key is imported. */
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

/** Sends this participant's messages to the room; every send rejects with SessionError once the session has ended. */
export interface PeerSender {
  /** Sends a chat message under a fresh random ID, sealed when the room encrypts chat. */
  sendChat(text: string): Promise<void>;
  /** Sends a whiteboard message, sealed when the room encrypts the whiteboard; `fromUserId` and `sentAt` are filled in. */
  sendWhiteboard(message: DataMessageInit): Promise<void>;
  /** Sends a data message, sealed whenever there is a room key; `fromUserId` and `sentAt` are filled in. */
  sendData(message: DataMessageInit): Promise<void>;
}

/**
 * The room's peer subjects on the session's connection; what arrives is
 * dropped until `open`. This participant publishes on its own subjects
 * (`chat.R.U`, `whiteboard.R.U`, `dataChannel.R.U`), which only it may publish
 * on, with a copy on upstream's shared subjects (`chat.R`) for upstream's
 * clients; it reads everyone's own subjects (`chat.R.*`, verified senders)
 * and what upstream's clients publish on the shared ones (unverified).
 */
export interface PeerChannels extends SessionChannel {
  /** Subscribes to the room's chat, whiteboard and data subjects on a (new) connection; returns how to unsubscribe. */
  attach(nc: NatsConnection): () => void;
  /** Reads the subjects from now on, with the room's key where the room wants one, and returns how to send. */
  open(options: OpenPeerChannelsOptions): PeerSender;
}

const chatIdBytes = 10;

/**
 * The messages participants exchange among themselves through NATS: chat,
 * whiteboard and data, sealed with the room key where the room asks for it,
 * each shown with its sender (`sender.verified` when NATS vouches for it).
 */
export function createPeerChannels(options: PeerChannelsOptions): PeerChannels {
  const { subjects, roomId, userId, state, events } = options;
  const roomSubject: Record<PeerChannel, string> = {
    chat: `${subjects.chat}.${roomId}`,
    whiteboard: `${subjects.whiteboard}.${roomId}`,
    data: `${subjects.dataChannel}.${roomId}`,
  };
  // Ids never contain dots, so the token after the room is the whole sender id.
  const ownSubject = (channel: PeerChannel) => `${roomSubject[channel]}.${userId}`;
  // Set by `open`: the key a channel's messages are sealed with, undefined for plain ones.
  let keyOf: ((channel: PeerChannel) => RoomKey | undefined) | undefined;

  /** `verifiedSender`: the user whose own subject the message came on; undefined for upstream's shared subject. */
  async function show(
    channel: PeerChannel,
    key: RoomKey | undefined,
    bytes: Uint8Array,
    verifiedSender: string | undefined,
  ): Promise<void> {
    const plain = key
      ? await key.decrypt(bytes).catch((e: unknown) => {
          // The error names the bytes that did not open, for displays that show what arrived.
          throw new DecryptionError(e instanceof Error ? e.message : "message could not be decrypted", {
            cause: e instanceof DecryptionError ? e.cause : e,
            payload: bytes,
          });
        })
      : bytes;
    const message =
      channel === "chat" ? fromBinary(ChatMessageSchema, plain) : fromBinary(DataChannelMessageSchema, plain);
    if (verifiedSender !== undefined && message.fromUserId !== verifiedSender) {
      throw new SenderMismatchError(channel, verifiedSender, message.fromUserId);
    }
    // On the shared subject a message in this participant's name is not its own (it never publishes there): someone else's claim.
    if (message.fromUserId === userId) return;
    const sender: PeerMessageSender = { userId: message.fromUserId, verified: verifiedSender !== undefined };
    const envelope = { sender, payload: bytes };
    if (message.$typeName === ChatMessageSchema.typeName) events.emit("chat", Object.assign(message, envelope));
    else events.emit(channel as "whiteboard" | "data", Object.assign(message, envelope));
  }

  function subscribe(nc: NatsConnection, channel: PeerChannel, subject: string) {
    return nc.subscribe(subject, (m) => {
      // Until the key is imported nothing can be read; messages before that are not for this session.
      if (state.ended || !keyOf) return;
      const verifiedSender =
        subject === roomSubject[channel] ? undefined : m.subject.slice(roomSubject[channel].length + 1);
      // Its own messages come back on its own subject; the copies for upstream's clients are read on the sender's subject instead.
      if (verifiedSender === userId || (verifiedSender === undefined && m.headers?.fields.has(copySenderHeader)))
        return;
      void show(channel, keyOf(channel), m.data, verifiedSender).catch((e: unknown) =>
        events.emit(
          "error",
          e instanceof DecryptionError || e instanceof SenderMismatchError
            ? e
            : new DecryptionError("message could not be read", { cause: e }),
        ),
      );
    });
  }

  function open({ key, e2ee, sender, connection }: OpenPeerChannelsOptions): PeerSender {
    const sealed: Record<PeerChannel, boolean> = { chat: e2ee.chat, whiteboard: e2ee.whiteboard, data: true };
    const sealingKey = (channel: PeerChannel) => (sealed[channel] ? key : undefined);
    keyOf = sealingKey;

    async function send(channel: PeerChannel, bytes: Uint8Array): Promise<void> {
      if (state.ended) throw new SessionError(FailureReason.UNSPECIFIED, "the session has ended");
      const channelKey = sealingKey(channel);
      const payload = channelKey ? await channelKey.encrypt(bytes) : bytes;
      const nc = connection.current();
      // On its own subject for pnm's clients, which take the sender from it; a copy on the shared one for upstream's.
      nc.publish(ownSubject(channel), payload);
      nc.publish(roomSubject[channel], payload, { headers: { [copySenderHeader]: userId } });
    }
    const dataMessage = (init: DataMessageInit) =>
      toBinary(
        DataChannelMessageSchema,
        create(DataChannelMessageSchema, { ...init, fromUserId: userId, sentAt: String(Date.now()) }),
      );

    return {
      async sendChat(text) {
        const id = Array.from(crypto.getRandomValues(new Uint8Array(chatIdBytes)), (b) =>
          b.toString(16).padStart(2, "0"),
        ).join("");
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
      const subscriptions = (Object.keys(roomSubject) as PeerChannel[]).flatMap((channel) => [
        subscribe(nc, channel, `${roomSubject[channel]}.*`),
        subscribe(nc, channel, roomSubject[channel]),
      ]);
      return () => {
        for (const s of subscriptions) s.unsubscribe();
      };
    },
    open,
  };
}
