import type { ChatMessage, DataChannelMessage } from "@pnm/protocol/pnm/v1/messages_pb";
import type { SessionError } from "./session-errors.js";

/** What a session reports to the listeners added with `on`. */
export type SessionEvents = {
  chat: ChatMessage;
  whiteboard: DataChannelMessage;
  data: DataChannelMessage;
  /** A message was dropped (DecryptionError), or renewal failed; the session goes on. */
  error: Error;
  /** The session is over (RemovedError, BlockedError, RoomEndedError, TokenExpiredError). */
  ended: SessionError;
  renewed: string;
};

type SessionListener<K extends keyof SessionEvents> = (value: SessionEvents[K]) => void;

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
      listeners.get(event)?.forEach((listener) => (listener as SessionListener<typeof event>)(value));
    },
  };
}
