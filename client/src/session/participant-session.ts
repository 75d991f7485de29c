import { create, fromBinary, fromJsonString, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { type RoomMetadata, RoomMetadataSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { type ChatMessage, ChatMessageSchema, type DataChannelMessage, DataChannelMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import {
  type MediaServerConnInfo,
  MediaServerConnInfoSchema,
  type NatsInitialData,
  NatsInitialDataSchema,
  NatsMsgClientToServerEvent,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RenewalFailureSchema } from "@pnm/protocol/pnm/v1/renewal_pb";
import type { VerifyTokenResponse } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { DecryptionError } from "../e2ee/errors.js";
import { createRoomKey, type RoomKey } from "../e2ee/room-key.js";
import { connectParticipant, type WebSocketConstructor } from "../nats/participant-connection.js";
import { createParticipantClient } from "../participant-client.js";
import type { TransportOptions } from "../transport.js";
import { readTokenTimes, renewalDelayMs, type RenewalScheduleOptions } from "./renewal-schedule.js";
import { openServerChannel, type ServerChannel } from "./server-channel.js";
import { openSessionConnection, type SessionConnection } from "./session-connection.js";
import {
  JoinRefusedError,
  sessionEndedError,
  SessionError,
  TokenExpiredError,
  TokenRenewalError,
} from "./session-errors.js";

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

const chatIdBytes = 10;
type PeerChannel = "chat" | "whiteboard" | "data";

/**
 * Runs the secure session flow: verify the token, ask for the passphrase when
 * the room needs one, connect to NATS over WebSocket, fetch the initial data,
 * import the key, get the media token, then exchange end-to-end encrypted
 * chat, whiteboard and data messages, renewing the token before it expires.
 */
export async function joinSession(options: ParticipantSessionOptions): Promise<ParticipantSession> {
  let currentToken = options.token;
  const listeners = new Map<keyof SessionEvents, Set<(value: never) => void>>();
  const emit = <K extends keyof SessionEvents>(event: K, value: SessionEvents[K]) => listeners.get(event)?.forEach((l) => (l as (v: SessionEvents[K]) => void)(value));

  // 1. Token verification.
  const api = createParticipantClient({ ...options, token: () => currentToken });
  const verified = await api.verifyToken({ isProduction: true }).catch((err: unknown) => {
    const connectError = ConnectError.from(err);
    const reason = connectError.findDetails(ErrorDetailSchema)[0]?.reason ?? FailureReason.UNSPECIFIED;
    throw new JoinRefusedError(reason, connectError.rawMessage, { cause: err });
  });
  const roomId = verified.roomId!;
  const userId = verified.userId!;
  const subjects = verified.natsSubjects!;

  // 2. The passphrase, before anything reaches NATS.
  let typedPassphrase: string | undefined;
  if (verified.enabledSelfInsertEncryptionKey) {
    if (!options.promptForKey) throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "this room needs a passphrase: pass promptForKey");
    typedPassphrase = await options.promptForKey();
  }

  let ended = false;
  let ready = false;
  let key: RoomKey | undefined;
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  let channel: ServerChannel | undefined;
  let connection: SessionConnection | undefined;
  const e2ee = { enabled: false, chat: false, whiteboard: false };

  async function shutdown(): Promise<void> {
    ended = true;
    clearTimeout(renewTimer);
    key?.clear();
    await connection?.close();
  }

  function onUnsolicited(message: NatsMsgServerToClient): void {
    if (message.event !== NatsMsgServerToClientEvent.SESSION_ENDED || ended) return;
    const reason = message.binMsg.length ? fromBinary(ErrorDetailSchema, message.binMsg).reason : FailureReason.USER_REMOVED;
    void shutdown().then(() => emit("ended", sessionEndedError(reason, message.msg)));
  }

  const encrypts = (channelName: PeerChannel) =>
    Boolean(key) && (channelName === "chat" ? e2ee.chat : channelName === "whiteboard" ? e2ee.whiteboard : true);
  const open = async (channelName: PeerChannel, bytes: Uint8Array) => (encrypts(channelName) ? key!.decrypt(bytes) : bytes);

  function listen(nc: NatsConnection, subject: string, channelName: PeerChannel): Subscription {
    return nc.subscribe(subject, {
      callback: (err, m) => {
        // Until the key is imported nothing can be read; messages before that are not for this session.
        if (err || ended || !ready) return;
        void open(channelName, m.data)
          .then((plain) => {
            if (channelName === "chat") {
              const chat = fromBinary(ChatMessageSchema, plain);
              if (chat.fromUserId !== userId) emit("chat", chat);
            } else {
              const data = fromBinary(DataChannelMessageSchema, plain);
              if (data.fromUserId !== userId) emit(channelName, data);
            }
          })
          .catch((e: unknown) => emit("error", e instanceof DecryptionError ? e : new DecryptionError("message could not be read", { cause: e })));
      },
    });
  }

  // 3. NATS over WebSocket, authenticated by the (renewable) token; replaced when it drops.
  try {
    connection = await openSessionConnection({
      connect: () =>
        connectParticipant({
          servers: verified.natsWsUrls,
          token: () => currentToken,
          inboxPrefix: verified.natsInboxPrefix!,
          webSocket: options.webSocket,
          reconnect: false,
        }),
      async attach(nc) {
        channel = await openServerChannel({ nc, subjects, roomId, userId, onUnsolicited });
        const subscriptions = [
          listen(nc, `${subjects.chat}.${roomId}`, "chat"),
          listen(nc, `${subjects.whiteboard}.${roomId}`, "whiteboard"),
          listen(nc, `${subjects.dataChannel}.${roomId}`, "data"),
        ];
        await nc.flush();
        return () => {
          channel?.close();
          subscriptions.forEach((s) => s.unsubscribe());
        };
      },
      onGiveUp: (err) => {
        if (!ended) void shutdown().then(() => emit("ended", new SessionError(FailureReason.UNSPECIFIED, "lost the connection to NATS", { cause: err })));
      },
    });
  } catch (err) {
    throw new JoinRefusedError(FailureReason.UNSPECIFIED, "NATS refused the connection", { cause: err });
  }

  try {
    // 4. Initial data.
    const initialAnswer = await channel!.request(NatsMsgClientToServerEvent.REQ_INITIAL_DATA, "", NatsMsgServerToClientEvent.RES_INITIAL_DATA);
    const initialData = fromJsonString(NatsInitialDataSchema, initialAnswer.msg, { ignoreUnknownFields: true });
    const roomSid = initialData.room!.roomSid;
    const metadata = fromJsonString(RoomMetadataSchema, initialData.room!.metadata, { ignoreUnknownFields: true });
    const e2eeFeatures = metadata.roomFeatures?.endToEndEncryptionFeatures;

    // 5. Key import: the server's key or the typed passphrase, with the room's scheme.
    e2ee.enabled = Boolean(e2eeFeatures?.isEnabled);
    if (e2eeFeatures?.isEnabled) {
      const passphrase = e2eeFeatures.enabledSelfInsertEncryptionKey ? typedPassphrase : e2eeFeatures.encryptionKey;
      if (!passphrase) throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "the room uses E2EE but no key is available");
      key = await createRoomKey({ passphrase, roomSid, scheme: e2eeFeatures.keyDerivation });
      e2ee.chat = e2eeFeatures.includedChatMessages;
      e2ee.whiteboard = e2eeFeatures.includedWhiteboard;
    }
    // The typed passphrase lives on only inside the key object.
    typedPassphrase = undefined;

    // 6. Media token.
    const mediaAnswer = await channel!.request(NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA, "", NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA);
    let media: MediaServerConnInfo | undefined;
    if (mediaAnswer.msg) {
      media = fromJsonString(MediaServerConnInfoSchema, mediaAnswer.msg, { ignoreUnknownFields: true });
    } else {
      const reason = fromBinary(ErrorDetailSchema, mediaAnswer.binMsg).reason;
      if (reason !== FailureReason.MEDIA_UNAVAILABLE) throw new JoinRefusedError(reason, "media token refused");
    }

    // 7. Encrypted peer messages: the subscriptions are in place; from now on they are read.
    ready = true;
    const seal = async (channelName: PeerChannel, bytes: Uint8Array) => (encrypts(channelName) ? key!.encrypt(bytes) : bytes);

    async function renewToken(): Promise<string> {
      const answer = await channel!.request(NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN, currentToken, NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN);
      if (!answer.msg) {
        const failure = fromBinary(RenewalFailureSchema, answer.binMsg);
        const ErrorClass = failure.reason === FailureReason.TOKEN_EXPIRED ? TokenExpiredError : TokenRenewalError;
        throw new ErrorClass(failure.reason, failure.msg);
      }
      currentToken = answer.msg;
      emit("renewed", currentToken);
      scheduleRenewal();
      return currentToken;
    }

    function scheduleRenewal(): void {
      clearTimeout(renewTimer);
      if (ended) return;
      renewTimer = setTimeout(() => {
        renewToken().catch((err: unknown) => {
          if (err instanceof TokenExpiredError) void shutdown().then(() => emit("ended", err));
          else emit("error", err as Error);
        });
      }, renewalDelayMs(readTokenTimes(currentToken), Date.now(), options.renewal));
    }
    scheduleRenewal();

    const localUser = initialData.localUser!;
    const publish = async (subject: string, channelName: PeerChannel, bytes: Uint8Array) => {
      if (ended) throw new SessionError(FailureReason.UNSPECIFIED, "the session has ended");
      connection!.current().publish(subject, await seal(channelName, bytes));
    };
    const dataMessage = (init: MessageInitShape<typeof DataChannelMessageSchema>) =>
      toBinary(DataChannelMessageSchema, create(DataChannelMessageSchema, { ...init, fromUserId: userId, sentAt: String(Date.now()) }));

    return {
      roomId,
      userId,
      roomSid,
      verified,
      initialData,
      metadata,
      media,
      e2ee,
      token: () => currentToken,
      liveKitPassphrase() {
        if (!key) throw new SessionError(FailureReason.UNSPECIFIED, "the room does not use E2EE");
        return key.liveKitPassphrase;
      },
      async sendChat(text) {
        const id = Array.from(crypto.getRandomValues(new Uint8Array(chatIdBytes)), (b) => b.toString(16).padStart(2, "0")).join("");
        const chat = create(ChatMessageSchema, {
          id,
          fromName: localUser.name,
          fromUserId: userId,
          sentAt: String(Date.now()),
          message: text,
          fromAdmin: localUser.isAdmin,
        });
        await publish(`${subjects.chat}.${roomId}`, "chat", toBinary(ChatMessageSchema, chat));
      },
      sendWhiteboard: (message) => publish(`${subjects.whiteboard}.${roomId}`, "whiteboard", dataMessage(message)),
      sendData: (message) => publish(`${subjects.dataChannel}.${roomId}`, "data", dataMessage(message)),
      renewToken,
      on(event, listener) {
        const set = listeners.get(event) ?? new Set();
        listeners.set(event, set);
        set.add(listener as (value: never) => void);
        return () => set.delete(listener as (value: never) => void);
      },
      leave: shutdown,
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
}
