import { fromBinary, fromJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { type RoomMetadata, RoomMetadataSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import type { DataChannelMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import {
  type MediaServerConnInfo,
  MediaServerConnInfoSchema,
  type NatsInitialData,
  NatsInitialDataSchema,
  NatsMsgClientToServerEvent,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { VerifyTokenResponse } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { createRoomKey, type RoomKey } from "../e2ee/room-key.js";
import { connectParticipant, type WebSocketConstructor } from "../nats/participant-connection.js";
import { createParticipantClient, type ParticipantClient } from "../participant-client.js";
import type { TransportOptions } from "../transport.js";
import { createPeerChannels } from "./peer-channels.js";
import { startRenewalLoop } from "./renewal-loop.js";
import type { RenewalScheduleOptions } from "./renewal-schedule.js";
import { createServerChannel, type ServerChannel } from "./server-channel.js";
import { openSessionConnection } from "./session-connection.js";
import { JoinRefusedError, sessionEndedError, SessionError, TokenExpiredError } from "./session-errors.js";
import { createSessionEmitter, type SessionEvents } from "./session-events.js";
import { createSessionState } from "./session-state.js";

export type { SessionEvents } from "./session-events.js";

export interface ParticipantSessionOptions extends Omit<TransportOptions, "baseUrl"> {
  /** The pnm server's base URL. */
  baseUrl: string;
  /** The join token from GetJoinToken. */
  token: string;
  /** Asked for the room passphrase when the room uses self-inserted keys. */
  promptForKey?: () => Promise<string>;
  /** Node 20 has no global WebSocket: pass `nodeWebSocket` from `@pnm/client/node`. */
  webSocket?: WebSocketConstructor;
  renewal?: RenewalScheduleOptions;
}

export interface ParticipantSession {
  readonly roomId: string;
  readonly userId: string;
  readonly roomSid: string;
  readonly verified: VerifyTokenResponse;
  readonly initialData: NatsInitialData;
  readonly metadata: RoomMetadata;
  /** LiveKit connection info; undefined when the server has no media server. */
  readonly media: MediaServerConnInfo | undefined;
  /** True when chat, whiteboard and data are encrypted end to end. */
  readonly e2ee: { enabled: boolean; chat: boolean; whiteboard: boolean };
  /** The current access token (renewed in place). */
  token(): string;
  /** The passphrase for livekit-client's ExternalE2EEKeyProvider.setKey (see `applyLiveKitKey`). */
  liveKitPassphrase(): string;
  sendChat(text: string): Promise<void>;
  sendWhiteboard(message: MessageInitShape<typeof DataChannelMessageSchema>): Promise<void>;
  sendData(message: MessageInitShape<typeof DataChannelMessageSchema>): Promise<void>;
  /** Asks for a new token now, instead of waiting for the schedule. */
  renewToken(): Promise<string>;
  on<K extends keyof SessionEvents>(event: K, listener: (value: SessionEvents[K]) => void): () => void;
  /** Closes the connection and clears the room key. */
  leave(): Promise<void>;
}

/**
 * Runs the secure session flow: verify the token, ask for the passphrase when
 * the room needs one, connect to NATS over WebSocket, fetch the initial data,
 * import the key, get the media token, then exchange end-to-end encrypted
 * chat, whiteboard and data messages, renewing the token before it expires.
 */
export async function joinSession(options: ParticipantSessionOptions): Promise<ParticipantSession> {
  const state = createSessionState(options.token);
  const events = createSessionEmitter();
  const endWith = (error: SessionError) => {
    if (!state.ended) void state.end().then(() => events.emit("ended", error));
  };

  // 1. Token verification.
  const verified = await verifyToken(createParticipantClient({ ...options, token: () => state.token }));
  const roomId = verified.roomId!;
  const userId = verified.userId!;
  const subjects = verified.natsSubjects!;

  // 2. The passphrase, before anything reaches NATS.
  let typedPassphrase = await promptForPassphrase(verified, options);

  // 3. NATS over WebSocket, authenticated by the (renewable) token; replaced when it drops.
  const server = createServerChannel({
    subjects,
    roomId,
    userId,
    onUnsolicited(message) {
      if (message.event === NatsMsgServerToClientEvent.SESSION_ENDED) endWith(sessionEndedBy(message));
    },
  });
  const peers = createPeerChannels({ subjects, roomId, userId, state, events });
  const connection = await openSessionConnection({
    connect: () =>
      connectParticipant({ servers: verified.natsWsUrls, token: () => state.token, inboxPrefix: verified.natsInboxPrefix!, webSocket: options.webSocket, reconnect: false }),
    channels: [server, peers],
    onGiveUp: (err) => endWith(new SessionError(FailureReason.UNSPECIFIED, "lost the connection to NATS", { cause: err })),
  }).catch((err: unknown) => {
    throw new JoinRefusedError(FailureReason.UNSPECIFIED, "NATS refused the connection", { cause: err });
  });
  state.onEnd(() => connection.close());

  try {
    // 4. Initial data.
    const { initialData, roomSid, metadata } = await requestInitialData(server);

    // 5. Key import: the server's key or the typed passphrase, with the room's scheme.
    const { key, e2ee } = await importRoomKey(metadata, roomSid, typedPassphrase);
    // The typed passphrase lives on only inside the key object.
    typedPassphrase = undefined;
    if (key) state.onEnd(() => key.clear());

    // 6. Media token.
    const media = await requestMedia(server);

    // 7. Encrypted peer messages: the subscriptions are in place; from now on they are read.
    const sender = peers.open({ key, e2ee, sender: initialData.localUser!, connection });
    const renewal = startRenewalLoop({
      state,
      server,
      schedule: options.renewal,
      onRenewed: (token) => events.emit("renewed", token),
      onFailure: (err) => (err instanceof TokenExpiredError ? endWith(err) : events.emit("error", err)),
    });
    state.onEnd(() => renewal.stop());

    return {
      roomId,
      userId,
      roomSid,
      verified,
      initialData,
      metadata,
      media,
      e2ee,
      token: () => state.token,
      liveKitPassphrase() {
        if (!key) throw new SessionError(FailureReason.UNSPECIFIED, "the room does not use E2EE");
        return key.liveKitPassphrase;
      },
      ...sender,
      renewToken: renewal.renewNow,
      on: events.on,
      leave: state.end,
    };
  } catch (err) {
    await state.end();
    throw err;
  }
}

async function verifyToken(api: ParticipantClient): Promise<VerifyTokenResponse> {
  return api.verifyToken({ isProduction: true }).catch((err: unknown) => {
    const connectError = ConnectError.from(err);
    const reason = connectError.findDetails(ErrorDetailSchema)[0]?.reason ?? FailureReason.UNSPECIFIED;
    throw new JoinRefusedError(reason, connectError.rawMessage, { cause: err });
  });
}

async function promptForPassphrase(verified: VerifyTokenResponse, options: Pick<ParticipantSessionOptions, "promptForKey">): Promise<string | undefined> {
  if (!verified.enabledSelfInsertEncryptionKey) return undefined;
  if (!options.promptForKey) throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "this room needs a passphrase: pass promptForKey");
  return options.promptForKey();
}

async function requestInitialData(server: ServerChannel): Promise<{ initialData: NatsInitialData; roomSid: string; metadata: RoomMetadata }> {
  const answer = await server.request(NatsMsgClientToServerEvent.REQ_INITIAL_DATA, "", NatsMsgServerToClientEvent.RES_INITIAL_DATA);
  const initialData = fromJsonString(NatsInitialDataSchema, answer.msg, { ignoreUnknownFields: true });
  const metadata = fromJsonString(RoomMetadataSchema, initialData.room!.metadata, { ignoreUnknownFields: true });
  return { initialData, roomSid: initialData.room!.roomSid, metadata };
}

async function importRoomKey(
  metadata: RoomMetadata,
  roomSid: string,
  typedPassphrase: string | undefined,
): Promise<{ key: RoomKey | undefined; e2ee: ParticipantSession["e2ee"] }> {
  const features = metadata.roomFeatures?.endToEndEncryptionFeatures;
  if (!features?.isEnabled) return { key: undefined, e2ee: { enabled: false, chat: false, whiteboard: false } };
  const passphrase = features.enabledSelfInsertEncryptionKey ? typedPassphrase : features.encryptionKey;
  if (!passphrase) throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "the room uses E2EE but no key is available");
  const key = await createRoomKey({ passphrase, roomSid, scheme: features.keyDerivation });
  return { key, e2ee: { enabled: true, chat: features.includedChatMessages, whiteboard: features.includedWhiteboard } };
}

/** LiveKit's connection info, or undefined when the server has no media server. */
async function requestMedia(server: ServerChannel): Promise<MediaServerConnInfo | undefined> {
  const answer = await server.request(NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA, "", NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA);
  if (answer.msg) return fromJsonString(MediaServerConnInfoSchema, answer.msg, { ignoreUnknownFields: true });
  const reason = fromBinary(ErrorDetailSchema, answer.binMsg).reason;
  if (reason !== FailureReason.MEDIA_UNAVAILABLE) throw new JoinRefusedError(reason, "media token refused");
  return undefined;
}

/** SESSION_ENDED names its reason in an ErrorDetail; a bare one means the user was removed. */
function sessionEndedBy(message: NatsMsgServerToClient): SessionError {
  const reason = message.binMsg.length ? fromBinary(ErrorDetailSchema, message.binMsg).reason : FailureReason.USER_REMOVED;
  return sessionEndedError(reason, message.msg);
}
