import { natsSubjects, userInboxPrefix } from "./subjects.js";

export interface Permissions {
  pub: { allow: string[] };
  sub: { allow: string[] };
}

/**
 * Least privilege for participant U of room R. Unlike upstream there is no
 * `_INBOX.>` (each user gets its own inbox root, so nobody reads another's
 * replies) and no JetStream API: private messages arrive on the user's own
 * private subject.
 */
export function participantPermissions(roomId: string, userId: string): Permissions {
  const s = natsSubjects;
  const peer = [`${s.chat}.${roomId}`, `${s.whiteboard}.${roomId}`, `${s.dataChannel}.${roomId}`];
  return {
    pub: { allow: [`${s.systemJsWorker}.${roomId}.${userId}`, `${s.systemCoreWorker}.${roomId}.${userId}`, ...peer] },
    sub: {
      allow: [
        `${userInboxPrefix(roomId, userId)}.>`,
        `${s.systemPublic}.${roomId}`,
        `${s.systemPublic}.${roomId}.>`,
        `${s.systemPrivate}.${roomId}.${userId}.>`,
        ...peer,
      ],
    },
  };
}

/** The NATS user name of a participant: ids only (never a token or a display name). */
export function participantUserName(roomId: string, userId: string): string {
  return JSON.stringify({ roomId, userId });
}

export function parseParticipantUserName(name: unknown): { roomId: string; userId: string } | undefined {
  if (typeof name !== "string" || !name.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(name) as { roomId?: unknown; userId?: unknown };
    if (typeof parsed.roomId === "string" && typeof parsed.userId === "string") return { roomId: parsed.roomId, userId: parsed.userId };
  } catch {
    // not a participant
  }
  return undefined;
}
