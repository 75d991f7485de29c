import type { ChatMessage, DataChannelMessage } from "@pnm/protocol/pnm/v1/messages_pb";
import type { SessionError } from "./session-errors.js";

/** Who sent a peer message, as far as the receiver can tell (docs/security-gaps.md #24). */
export interface PeerMessageSender {
  /** The sender's user id: the one NATS vouches for when `verified`, else the one the message claims. */
  readonly userId: string;
  /**
   * True when the message came on the sender's own subject (`chat.R.U`),
   * where only that participant may publish, so NATS vouches for the sender;
   * a message there whose `fromUserId` names someone else is dropped
   * (SenderMismatchError). False for a message on upstream's shared subject
   * (`chat.R`), which upstream's clients use and anyone in the room may
   * publish on: its sender is whatever it claims. Names and `fromAdmin` are
   * always as the sender wrote them.
   */
  readonly verified: boolean;
}

/** What every received peer message carries besides its content. */
export interface PeerMessageEnvelope {
  /** Who sent it. */
  readonly sender: PeerMessageSender;
  /**
   * The message as NATS carried it: sealed with the room key when the room
   * encrypts the channel, so this is what anyone watching the subject saw.
   */
  readonly payload: Uint8Array;
}

/** A chat message, who sent it, and its bytes on the wire. */
export type ReceivedChat = ChatMessage & PeerMessageEnvelope;

/** A whiteboard or data message, who sent it, and its bytes on the wire. */
export type ReceivedData = DataChannelMessage & PeerMessageEnvelope;

/** What a session reports to the listeners added with `on`. */
export type SessionEvents = {
  /** A chat message from another participant, decrypted where the room encrypts chat; `sender` says whether the sender is verified. */
  chat: ReceivedChat;
  /** A whiteboard message from another participant, with its sender. */
  whiteboard: ReceivedData;
  /** A data message from another participant, with its sender. */
  data: ReceivedData;
  /** A message was dropped (DecryptionError, SenderMismatchError), or renewal failed (SessionExpiredError: the session ends when its token expires); the session goes on. */
  error: Error;
  /** The session is over (RemovedError, BlockedError, DeniedError, RoomEndedError, TokenExpiredError, SessionExpiredError). */
  ended: SessionError;
  /** The new access token, after each renewal. */
  renewed: string;
};

type SessionListener<K extends keyof SessionEvents> = (value: SessionEvents[K]) => void;

/** The session's event listeners, typed by event. */
export interface SessionEmitter {
  /** Adds a listener; returns how to remove it. */
  on<K extends keyof SessionEvents>(event: K, listener: SessionListener<K>): () => void;
  /** Calls the event's listeners in the order they were added. */
  emit<K extends keyof SessionEvents>(event: K, value: SessionEvents[K]): void;
}

/** The session's listeners, typed by event. */
export function createSessionEmitter(): SessionEmitter {
  // Each set holds listeners of its own event only: `on` keys them so, which `emit` relies on.
  const listeners = new Map<keyof SessionEvents, Set<(value: never) => void>>();
  return {
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => void set.delete(listener);
    },
    emit(event, value) {
      for (const listener of listeners.get(event) ?? []) (listener as SessionListener<typeof event>)(value);
    },
  };
}
