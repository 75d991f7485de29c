import { NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { type RoomStore, userKey } from "../store/room-store.js";
import type { ParticipantMessenger } from "./participant-messenger.js";
import { isUpstreamWebClientRoom } from "./upstream-web-client.js";

/** Tells an approved user of a room open to upstream's web client that it waits no more, as that client listens for it. */
export type UpstreamApprovalNotice = (roomId: string, userId: string) => Promise<void>;

export interface UpstreamApprovalNoticeOptions {
  store: RoomStore;
  messenger: ParticipantMessenger;
}

/**
 * Upstream's web client leaves its waiting screen when its own user's
 * metadata arrives with `wait_for_approval` false (upstream's
 * `USER_METADATA_UPDATE`, `msg` a `NatsUserMetadataUpdate`); it does not
 * know pnm's WAITING_ROOM_APPROVED. The notice goes to the user alone, on
 * its private subject, so its consumer delivers it to the waiting
 * connection before the kick that promotes it. Rooms not open to that client
 * get nothing more.
 */
export function createUpstreamApprovalNotice(options: UpstreamApprovalNoticeOptions): UpstreamApprovalNotice {
  const { store, messenger } = options;
  return async (roomId, userId) => {
    const [room, user] = await Promise.all([store.rooms.get(roomId), store.users.get(userKey(roomId, userId))]);
    if (!room || !user || !isUpstreamWebClientRoom(room.value, true)) return;
    await messenger.toUser(roomId, userId, {
      event: NatsMsgServerToClientEvent.USER_METADATA_UPDATE,
      // Upstream's NatsUserMetadataUpdate in protojson with proto names; pnm's protocol has no such message.
      msg: JSON.stringify({ metadata: user.value.metadataJson, user_id: userId }),
    });
  };
}
