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
