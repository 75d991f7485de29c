import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  type CreateRoomRequest,
  LockSettingsSchema,
  RoomCreateFeaturesSchema,
  type RoomMetadata,
  RoomMetadataSchema,
} from "@pnm/protocol/pnm/v1/create_room_pb";
import { pnmError } from "../errors.js";
import { fillUnset } from "./fill-unset.js";

/** Upstream's defaults for every toggle a caller leaves unset. */
const defaultFeatures = create(RoomCreateFeaturesSchema, {
  allowWebcams: true,
  muteOnStart: false,
  allowScreenShare: true,
  allowViewOtherWebcams: true,
  allowViewOtherUsersList: true,
  adminOnlyWebcams: false,
  enableAnalytics: true,
  allowVirtualBg: true,
  allowRaiseHand: true,
  autoGenUserId: false,
  allowReactions: true,
  recordingFeatures: {
    isAllow: true,
    isAllowCloud: true,
    isAllowLocal: true,
    enableAutoCloudRecording: false,
    onlyRecordAdminWebcams: false,
  },
  chatFeatures: { isAllow: true, isAllowFileUpload: true },
  sharedNotePadFeatures: { isAllow: true },
  whiteboardFeatures: { isAllow: true },
  externalMediaPlayerFeatures: { isAllow: true },
  waitingRoomFeatures: { isActive: false },
  breakoutRoomFeatures: { isAllow: true, allowedNumberRooms: 6 },
  displayExternalLinkFeatures: { isAllow: true },
  ingressFeatures: { isAllow: true },
  endToEndEncryptionFeatures: {},
  pollsFeatures: { isAllow: true },
  sipDialInFeatures: { isAllow: false },
  externalBroadcastingFeatures: { isAllow: true },
});

const defaultLockSettings = create(LockSettingsSchema, {
  lockWhiteboard: true,
  lockScreenSharing: true,
  lockSharedNotepad: true,
});

const minEmptyTimeoutSeconds = 120;
const defaultEmptyTimeoutSeconds = 1800;

/** What a room is created with, once defaults and rules are applied. */
export interface RoomSettings {
  /** The room's metadata with every feature set, a new metadata ID and the start time; never the E2EE key. */
  metadata: RoomMetadata;
  /** How long the room may stay empty, in seconds; a request under 120 gets the default of 1800. */
  emptyTimeoutSeconds: number;
  /** The participant limit; 0 means unlimited. */
  maxParticipants: number;
}

/** The server's settings that room defaults depend on. */
export interface RoomDefaultsOptions {
  /** `PNM_UPSTREAM_WEB_CLIENT`: the default of `upstream_web_client`, and whether a room may ask for it at all. */
  upstreamWebClient?: boolean;
}

/**
 * The settings a room is created with: the caller's explicit values, upstream's
 * defaults for what is unset, then the rules that tie features together.
 * Pure: the request is not modified. A room that asks for upstream's web
 * client on a server that does not allow it is refused (INVALID_ARGUMENT), and
 * so is one open to it whose id has a "_".
 */
export function resolveRoomSettings(
  request: CreateRoomRequest,
  nowMs: number,
  options: RoomDefaultsOptions = {},
): RoomSettings {
  const metadata = clone(RoomMetadataSchema, request.metadata ?? create(RoomMetadataSchema));
  metadata.roomFeatures ??= create(RoomCreateFeaturesSchema);
  const features = metadata.roomFeatures;
  fillUnset(RoomCreateFeaturesSchema, features, defaultFeatures);
  const allowed = options.upstreamWebClient ?? false;
  if (features.upstreamWebClient && !allowed) {
    throw pnmError(
      FailureReason.INVALID_ARGUMENT,
      "room_features.upstream_web_client: this server does not open rooms to upstream's web client (PNM_UPSTREAM_WEB_CLIENT is off)",
    );
  }
  features.upstreamWebClient ??= allowed;
  if (features.upstreamWebClient && request.roomId.includes("_")) {
    // The web client names its consumer `<room>_<user>` itself; with no "_" in room ids the name reads one way only, so no
    // user of one such room can ever be handed a consumer of another's.
    throw pnmError(
      FailureReason.INVALID_ARGUMENT,
      `room_id: a room open to upstream's web client has no "_" in its id (that client names its consumer <room>_<user>); choose another id, or set room_features.upstream_web_client: false`,
    );
  }
  metadata.defaultLockSettings ??= clone(LockSettingsSchema, defaultLockSettings);

  const recording = features.recordingFeatures!;
  if (!recording.isAllow) {
    recording.isAllowCloud = false;
    recording.isAllowLocal = false;
    recording.enableAutoCloudRecording = false;
  }
  const chat = features.chatFeatures!;
  if (!chat.isAllow) chat.isAllowFileUpload = false;
  const broadcasting = features.externalBroadcastingFeatures!;
  if (features.allowRtmp !== undefined) broadcasting.isAllow = features.allowRtmp;

  const e2ee = features.endToEndEncryptionFeatures!;
  if (!e2ee.isEnabled) {
    e2ee.enabledSelfInsertEncryptionKey = false;
    e2ee.includedChatMessages = false;
    e2ee.includedWhiteboard = false;
  } else {
    // Media that leaves the participants' devices cannot stay end-to-end encrypted.
    features.sipDialInFeatures!.isAllow = false;
    features.ingressFeatures!.isAllow = false;
    if (e2ee.enabledSelfInsertEncryptionKey) {
      broadcasting.isAllow = false;
      recording.isAllowCloud = false;
      recording.enableAutoCloudRecording = false;
    }
  }
  features.allowRtmp = broadcasting.isAllow;
  e2ee.encryptionKey = undefined;

  metadata.startedAt = BigInt(Math.floor(nowMs / 1000));
  metadata.metadataId = randomUUID();

  const emptyTimeout = request.emptyTimeout ?? 0;
  return {
    metadata,
    emptyTimeoutSeconds: emptyTimeout < minEmptyTimeoutSeconds ? defaultEmptyTimeoutSeconds : emptyTimeout,
    maxParticipants: request.maxParticipants ?? 0,
  };
}
