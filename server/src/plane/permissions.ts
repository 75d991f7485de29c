import { natsSubjects, peerSenderSubject, peerSubjectRoots, userInboxPrefix } from "../nats/subjects.js";

export interface Permissions {
  pub: { allow: string[] };
  sub: { allow: string[] };
}

/**
 * Least privilege for participant U of room R. Unlike upstream there is no
 * `_INBOX.>` (each user gets its own inbox root, so nobody reads another's
 * replies) and no JetStream API: private messages arrive on the user's own
 * private subject. Besides upstream's peer subjects (`chat.R`, which anyone in
 * the room may publish on), each user publishes on its own `chat.R.U` and
 * reads everyone's `chat.R.*`: the subject names the sender, and NATS
 * vouches for it (docs/security-gaps.md #24).
 */
export function participantPermissions(roomId: string, userId: string): Permissions {
  const s = natsSubjects;
  const peer = peerSubjectRoots.map((root) => `${root}.${roomId}`);
  const ownPeer = peerSubjectRoots.map((root) => peerSenderSubject(root, roomId, userId));
  const everyonesPeer = peerSubjectRoots.map((root) => peerSenderSubject(root, roomId, "*"));
  return {
    pub: {
      allow: [
        `${s.systemJsWorker}.${roomId}.${userId}`,
        `${s.systemCoreWorker}.${roomId}.${userId}`,
        ...peer,
        ...ownPeer,
      ],
    },
    sub: {
      allow: [
        `${userInboxPrefix(roomId, userId)}.>`,
        `${s.systemPublic}.${roomId}`,
        `${s.systemPublic}.${roomId}.>`,
        `${s.systemPrivate}.${roomId}.${userId}.>`,
        ...peer,
        ...everyonesPeer,
      ],
    },
  };
}

/**
 * The permissions of participant U of room R while the waiting room holds it:
 * its own worker subjects (to renew its token and hear whether it is
 * admitted), its private subject and inbox, and nothing of the room's
 * traffic: no peer channels, no sysPublic. Approval closes this connection
 * and the reconnect gets participantPermissions.
 */
export function waitingRoomPermissions(roomId: string, userId: string): Permissions {
  const s = natsSubjects;
  return {
    pub: { allow: [`${s.systemJsWorker}.${roomId}.${userId}`, `${s.systemCoreWorker}.${roomId}.${userId}`] },
    sub: { allow: [`${userInboxPrefix(roomId, userId)}.>`, `${s.systemPrivate}.${roomId}.${userId}.>`] },
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
    if (typeof parsed.roomId === "string" && typeof parsed.userId === "string")
      return { roomId: parsed.roomId, userId: parsed.userId };
  } catch {
    // not a participant
  }
  return undefined;
}
