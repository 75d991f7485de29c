import { create } from "@bufbuild/protobuf";
import { NatsSubjectsSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";

/** Upstream's default subject roots, which its web client expects. */
export const natsSubjects = create(NatsSubjectsSchema, {
  systemApiWorker: "sysApiWorker",
  systemJsWorker: "sysJsWorker",
  systemCoreWorker: "sysCoreWorker",
  systemPublic: "sysPublic",
  systemPrivate: "sysPrivate",
  chat: "chat",
  whiteboard: "whiteboard",
  dataChannel: "dataChannel",
});

export const roomStreamName = "pnm-room-stream";

/**
 * Each user's own inbox root, instead of the _INBOX.> that every upstream
 * client shares. Ids never contain dots, so room and user stay separate tokens.
 */
export function userInboxPrefix(roomId: string, userId: string): string {
  return `_INBOX_${roomId}.${userId}`;
}

/** The roots of the room's peer subjects: chat, whiteboard and data channel. */
export const peerSubjectRoots = [natsSubjects.chat, natsSubjects.whiteboard, natsSubjects.dataChannel] as const;

/**
 * Where participant U of room R publishes its own peer messages:
 * `<root>.R.U` (upstream's clients use `<root>.R`, which anyone in the room may
 * publish on). Only U may publish there, so receivers read the sender from
 * the subject (docs/security-gaps.md #24).
 */
export function peerSenderSubject(root: string, roomId: string, userId: string): string {
  return `${root}.${roomId}.${userId}`;
}
