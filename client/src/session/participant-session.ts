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
import { type RenewalScheduleOptions, readTokenTimes } from "./renewal-schedule.js";
import { createServerChannel, type ServerChannel } from "./server-channel.js";
import { openSessionConnection, type SessionConnection } from "./session-connection.js";
import {
  JoinRefusedError,
  RoomEndedError,
  SessionError,
  SessionExpiredError,
  sessionEndedError,
  TokenExpiredError,
} from "./session-errors.js";
import { createSessionEmitter, type SessionEvents } from "./session-events.js";
import { createSessionState, type SessionState } from "./session-state.js";
import type { SessionStep } from "./session-steps.js";

export type { SessionEvents } from "./session-events.js";

/** What `joinSession` needs; the transport options apply to the participant's RPC (VerifyToken). */
export interface ParticipantSessionOptions extends Omit<TransportOptions, "baseUrl"> {
  /** The pnm server's base URL. */
  baseUrl: string;
  /** The join token from GetJoinToken. */
  token: string;
  /** Asked for the room passphrase when the room uses self-inserted keys. */
  promptForKey?: () => Promise<string>;
  /** Node 20 has no global WebSocket: pass `nodeWebSocket` from `@pnm/client/node`. */
  webSocket?: WebSocketConstructor;
  /** When to renew the access token; default: at 2/3 of its lifetime, give or take 5%. */
  renewal?: RenewalScheduleOptions;
  /**
   * Called once when the room's waiting room holds the participant: `joinSession`
   * then waits (connected to NATS with the waiting room's permissions only, its
   * token renewed) until a moderator decides. Approved, it reconnects and the
   * flow goes on; turned away, `joinSession` rejects with DeniedError.
   */
  onWaiting?: () => void;
  /**
   * Called as each step of the flow completes (SessionStep), for progress
   * displays; a listener that throws does not stop the flow.
   */
  onStep?: (step: SessionStep) => void;
}

/**
 * A participant in a room, as `joinSession` returns it: what the server said
 * about the room, the (end-to-end encrypted) message channels, and the token,
 * renewed in the background. It lasts until `leave`, or until the server ends
 * it (the `ended` event).
 */
export interface ParticipantSession {
  /** The room's ID, from the verified token. */
  readonly roomId: string;
  /** This participant's user ID, from the verified token. */
  readonly userId: string;
  /** The SID of this instance of the room, which the E2EE key is salted with. */
  readonly roomSid: string;
  /** The server's answer to VerifyToken: NATS URLs and subjects, whether the room needs a typed passphrase. */
  readonly verified: VerifyTokenResponse;
  /** The room and this user as the server described them on joining (RES_INITIAL_DATA). */
  readonly initialData: NatsInitialData;
  /** The room's metadata (features, E2EE settings), parsed from `initialData.room.metadata`. */
  readonly metadata: RoomMetadata;
  /** LiveKit connection info; undefined when the server has no media server. */
  readonly media: MediaServerConnInfo | undefined;
  /** True when chat, whiteboard and data are encrypted end to end. */
  readonly e2ee: { enabled: boolean; chat: boolean; whiteboard: boolean };
  /** The current access token (renewed in place). */
  token(): string;
  /**
   * The passphrase for livekit-client's ExternalE2EEKeyProvider.setKey (see
   * `applyLiveKitKey`); throws SessionError when the room does not use E2EE,
   * E2eeKeyMissingError after `leave`.
   */
  liveKitPassphrase(): string;
  /** Sends a chat message to the room, encrypted when the room encrypts chat; rejects with SessionError once the session has ended. */
  sendChat(text: string): Promise<void>;
  /** Sends a whiteboard message, encrypted when the room encrypts the whiteboard; `fromUserId` and `sentAt` are set by the session. */
  sendWhiteboard(message: MessageInitShape<typeof DataChannelMessageSchema>): Promise<void>;
  /** Sends a data message, encrypted whenever the room uses E2EE; `fromUserId` and `sentAt` are set by the session. */
  sendData(message: MessageInitShape<typeof DataChannelMessageSchema>): Promise<void>;
  /** Asks for a new token now, instead of waiting for the schedule. */
  renewToken(): Promise<string>;
  /**
   * When the session ends for good, in Unix seconds, as the server's last
   * renewal answer stated it (its maximum session age); undefined before the
   * first renewal, or from a server that does not state it. No token is
   * renewed past it: the session then ends with SessionExpiredError.
   */
  sessionExpiresAt(): number | undefined;
  /**
   * As a room admin: admits a user the room's waiting room holds, as
   * RoomService.ApproveParticipant does (over NATS: REQ_APPROVE_WAITING_USER).
   * Rejects with SessionError naming the server's reason: ADMIN_REQUIRED for
   * a participant who is no admin, ROOM_FULL, USER_NOT_FOUND, ... Answers
   * are matched by kind, so decide on one user at a time.
   */
  approveWaitingUser(userId: string): Promise<void>;
  /** As a room admin: turns away a user the waiting room holds, as RoomService.DenyParticipant does; rejects as `approveWaitingUser`. */
  denyWaitingUser(userId: string): Promise<void>;
  /** Listens to one of the session's events; returns how to stop listening. */
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
  const reached = (step: SessionStep) => {
    try {
      options.onStep?.(step);
    } catch {
      // A progress display's fault is not the session's.
    }
  };
  let endedBy: SessionError | undefined;
  /** The session's end that renewal answers state (Unix seconds). */
  let sessionExpiresAt: number | undefined;
  const endWith = (cause: SessionError) => {
    if (state.ended) return;
    // A token that runs to the session's end expires because the session did: NATS closing the connection, a
    // reconnect refused or a renewal left unanswered may each tell it first, and it is still the session's end.
    const error =
      cause instanceof TokenExpiredError &&
      sessionExpiresAt !== undefined &&
      readTokenTimes(state.token).exp >= sessionExpiresAt
        ? new SessionExpiredError(FailureReason.SESSION_EXPIRED, "the session reached its maximum age", { cause })
        : cause;
    endedBy = error;
    void state.end().then(() => events.emit("ended", error));
  };

  // 1. Token verification.
  const api = createParticipantClient({ ...options, token: () => state.token });
  const verified = await verifyToken(api);
  const roomId = verified.roomId!;
  const userId = verified.userId!;
  const subjects = verified.natsSubjects!;
  reached({ step: "verified", verified });

  // 2. The passphrase, before anything reaches NATS.
  let typedPassphrase = await promptForPassphrase(verified, options, reached);

  // 3. NATS over WebSocket, authenticated by the (renewable) token; replaced when it drops.
  // The waiting room's approval comes unasked; the connection that hears it
  // has the waiting room's permissions, so a new one replaces it.
  let connection: SessionConnection | undefined;
  const promotion = createPromotion();
  const server = createServerChannel({
    subjects,
    roomId,
    userId,
    onUnsolicited(message) {
      if (message.event === NatsMsgServerToClientEvent.SESSION_ENDED) endWith(sessionEndedBy(message));
      if (message.event === NatsMsgServerToClientEvent.WAITING_ROOM_APPROVED)
        promotion.approved(() => connection!.reconnect());
    },
  });
  const peers = createPeerChannels({ subjects, roomId, userId, state, events });
  connection = await openSessionConnection({
    connect: () =>
      connectParticipant({ servers: verified.natsWsUrls, token: () => state.token, webSocket: options.webSocket }),
    channels: [server, peers],
    onGiveUp: (err) =>
      endWith(
        err instanceof SessionError
          ? err
          : new SessionError(FailureReason.UNSPECIFIED, "lost the connection to NATS", { cause: err }),
      ),
    // A reconnect refused while the token still verifies (an overloaded callout, say) is retried; otherwise the
    // session ends with the server's reason, as a SESSION_ENDED that never arrived would have said.
    onRefused: (refusal) =>
      verifyToken(api).then(
        () => undefined,
        (err: JoinRefusedError) => {
          if (transientReasons.has(err.reason)) return undefined;
          if (err.reason === FailureReason.TOKEN_EXPIRED)
            return new TokenExpiredError(err.reason, err.message, { cause: refusal });
          // The session was in an active room: a room no longer active for its token has ended.
          if (err.reason === FailureReason.ROOM_NOT_ACTIVE || err.reason === FailureReason.ROOM_NOT_FOUND)
            return new RoomEndedError(FailureReason.ROOM_ENDED, err.message, { cause: refusal });
          return sessionEndedError(err.reason, err.message);
        },
      ),
  }).catch(async (err: unknown) => {
    // NATS says only "Authorization Violation"; the callout's reason (a room that filled up or ended since the
    // token was verified, a block) is what VerifyToken now answers.
    const refusal = await verifyToken(api).then(
      () => undefined,
      (refused: JoinRefusedError) => refused,
    );
    if (refusal && !transientReasons.has(refusal.reason))
      throw new JoinRefusedError(refusal.reason, refusal.message, { cause: err });
    throw new JoinRefusedError(FailureReason.UNSPECIFIED, "NATS refused the connection", { cause: err });
  });
  promotion.connected();
  state.onEnd(() => connection!.close());
  reached({ step: "connected", servers: verified.natsWsUrls });

  // Renewal runs from here on, so that a long wait in the waiting room does not outlive the token.
  let expiryTimer: ReturnType<typeof setTimeout> | undefined;
  const renewal = startRenewalLoop({
    state,
    server,
    schedule: options.renewal,
    onRenewed: (token) => events.emit("renewed", token),
    onSessionExpiresAt: (at) => (sessionExpiresAt = at),
    onFailure(err) {
      if (err instanceof TokenExpiredError) return endWith(err);
      events.emit("error", err);
      // The last token reaches the session's end: the session ends when it expires (and NATS closes its connection).
      if (err instanceof SessionExpiredError && expiryTimer === undefined) {
        expiryTimer = setTimeout(() => endWith(err), Math.max(0, readTokenTimes(state.token).exp * 1000 - Date.now()));
      }
    },
  });
  state.onEnd(() => {
    renewal.stop();
    clearTimeout(expiryTimer);
  });

  try {
    // 4. Initial data, once the waiting room (if the room has one) admits the participant.
    let toldWaiting = false;
    const { initialData, roomSid, metadata } = await requestInitialData(server, async () => {
      if (!toldWaiting) options.onWaiting?.();
      toldWaiting = true;
      await promotion.waitForApproval(state, () => endedBy);
    });
    reached({ step: "initial-data", initialData });

    // 5. Key import: the server's key or the typed passphrase, with the room's scheme.
    const { key, e2ee } = await importRoomKey(metadata, roomSid, typedPassphrase);
    // The typed passphrase lives on only inside the key object.
    typedPassphrase = undefined;
    if (key) state.onEnd(() => key.clear());
    reached({ step: "key-imported", e2ee });

    // An approval heard by now (it can cross the initial data) replaces the connection: the requests below need the room's permissions.
    await promotion.done();

    // 6. Media token.
    const media = await requestMedia(server);
    reached({ step: "media", media });

    // 7. Encrypted peer messages: the subscriptions are in place; from now on they are read.
    const sender = peers.open({ key, e2ee, sender: initialData.localUser!, connection: connection! });
    reached({ step: "open" });

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
      sessionExpiresAt: () => sessionExpiresAt,
      approveWaitingUser: (user) =>
        decideOnWaitingUser(
          server,
          NatsMsgClientToServerEvent.REQ_APPROVE_WAITING_USER,
          NatsMsgServerToClientEvent.RESP_APPROVE_WAITING_USER,
          user,
        ),
      denyWaitingUser: (user) =>
        decideOnWaitingUser(
          server,
          NatsMsgClientToServerEvent.REQ_DENY_WAITING_USER,
          NatsMsgServerToClientEvent.RESP_DENY_WAITING_USER,
          user,
        ),
      on: events.on,
      leave: state.end,
    };
  } catch (err) {
    await state.end();
    throw err;
  }
}

/**
 * VerifyToken answers to a reconnecting session that say nothing against its
 * token: the server or its NATS could not be reached, or the seat online is
 * the session's own (its last connection was on a nats-server that went down
 * without reporting the disconnect; the next connect takes the seat over).
 */
const transientReasons = new Set([
  FailureReason.UNSPECIFIED,
  FailureReason.INTERNAL,
  FailureReason.NATS_UNAVAILABLE,
  FailureReason.USER_ALREADY_ONLINE,
]);

async function verifyToken(api: ParticipantClient): Promise<VerifyTokenResponse> {
  return api.verifyToken({ isProduction: true }).catch((err: unknown) => {
    const connectError = ConnectError.from(err);
    const reason = connectError.findDetails(ErrorDetailSchema)[0]?.reason ?? FailureReason.UNSPECIFIED;
    throw new JoinRefusedError(reason, connectError.rawMessage, { cause: err });
  });
}

async function promptForPassphrase(
  verified: VerifyTokenResponse,
  options: Pick<ParticipantSessionOptions, "promptForKey">,
  reached: (step: SessionStep) => void,
): Promise<string | undefined> {
  if (!verified.enabledSelfInsertEncryptionKey) return undefined;
  if (!options.promptForKey)
    throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "this room needs a passphrase: pass promptForKey");
  reached({ step: "passphrase" });
  return options.promptForKey();
}

/**
 * The room and this user. While the waiting room holds the participant the
 * server refuses with USER_WAITING_FOR_APPROVAL; `wait` then waits for the
 * approval (and the new connection it brings) before asking again.
 */
async function requestInitialData(
  server: ServerChannel,
  wait: () => Promise<void>,
): Promise<{ initialData: NatsInitialData; roomSid: string; metadata: RoomMetadata }> {
  let answer = await server.request(
    NatsMsgClientToServerEvent.REQ_INITIAL_DATA,
    "",
    NatsMsgServerToClientEvent.RES_INITIAL_DATA,
  );
  while (!answer.msg) {
    const reason = answer.binMsg.length
      ? fromBinary(ErrorDetailSchema, answer.binMsg).reason
      : FailureReason.UNSPECIFIED;
    if (reason !== FailureReason.USER_WAITING_FOR_APPROVAL) throw new JoinRefusedError(reason, "initial data refused");
    await wait();
    answer = await server.request(
      NatsMsgClientToServerEvent.REQ_INITIAL_DATA,
      "",
      NatsMsgServerToClientEvent.RES_INITIAL_DATA,
    );
  }
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
  if (!passphrase)
    throw new JoinRefusedError(FailureReason.INVALID_ARGUMENT, "the room uses E2EE but no key is available");
  const key = await createRoomKey({ passphrase, roomSid, scheme: features.keyDerivation });
  return { key, e2ee: { enabled: true, chat: features.includedChatMessages, whiteboard: features.includedWhiteboard } };
}

/** LiveKit's connection info, or undefined when the server has no media server. */
async function requestMedia(server: ServerChannel): Promise<MediaServerConnInfo | undefined> {
  const answer = await server.request(
    NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA,
    "",
    NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA,
  );
  // A refusal is its ErrorDetail; in rooms open to upstream's web client it carries a placeholder msg as well.
  if (answer.msg && answer.binMsg.length === 0)
    return fromJsonString(MediaServerConnInfoSchema, answer.msg, { ignoreUnknownFields: true });
  const reason = fromBinary(ErrorDetailSchema, answer.binMsg).reason;
  if (reason !== FailureReason.MEDIA_UNAVAILABLE) throw new JoinRefusedError(reason, "media token refused");
  return undefined;
}

/** An admin's decision on a waiting user: the answer names the user, or is a refusal with an ErrorDetail. */
async function decideOnWaitingUser(
  server: ServerChannel,
  event: NatsMsgClientToServerEvent,
  answer: NatsMsgServerToClientEvent,
  userId: string,
): Promise<void> {
  const reply = await server.request(event, userId, answer);
  if (reply.msg) return;
  const reason = reply.binMsg.length ? fromBinary(ErrorDetailSchema, reply.binMsg).reason : FailureReason.UNSPECIFIED;
  throw new SessionError(reason, `the server refused the decision on ${userId}: ${FailureReason[reason]}`);
}

/** SESSION_ENDED names its reason in an ErrorDetail; a bare one means the user was removed. */
function sessionEndedBy(message: NatsMsgServerToClient): SessionError {
  const reason = message.binMsg.length
    ? fromBinary(ErrorDetailSchema, message.binMsg).reason
    : FailureReason.USER_REMOVED;
  return sessionEndedError(reason, message.msg);
}

/** The waiting room's approval, as the session hears it: a new connection, and the wait for it. */
interface Promotion {
  /** WAITING_ROOM_APPROVED arrived: replace the connection (now, or once it exists). */
  approved(reconnect: () => Promise<void>): void;
  /** The session's connection exists: a replacement asked for before runs now. */
  connected(): void;
  /** Waits for an approval and its new connection; rejects with the session's end (DeniedError, ...) if it comes first. */
  waitForApproval(state: Pick<SessionState, "onEnd">, endedBy: () => SessionError | undefined): Promise<void>;
  /** Waits for the new connection of an approval heard so far, if any. */
  done(): Promise<void>;
}

function createPromotion(): Promotion {
  let reconnect: (() => Promise<void>) | undefined;
  let ready = false;
  let replacement: Promise<void> | undefined;
  // Approvals heard, and those a wait has taken: a wait is for one the participant has not acted on yet.
  let heard = 0;
  let taken = 0;
  const waiters: (() => void)[] = [];
  const start = () => {
    replacement = reconnect!();
    // Awaited by the join flow; a failure also ends the session (onGiveUp).
    replacement.catch(() => undefined);
    for (const wake of waiters.splice(0)) wake();
  };
  return {
    approved(reconnectNow) {
      reconnect = reconnectNow;
      heard++;
      if (ready) start();
    },
    connected() {
      ready = true;
      if (reconnect) start();
    },
    async waitForApproval(state, endedBy) {
      if (heard === taken) {
        await new Promise<void>((resolve, reject) => {
          waiters.push(resolve);
          state.onEnd(() =>
            reject(endedBy() ?? new SessionError(FailureReason.UNSPECIFIED, "the session ended in the waiting room")),
          );
        });
      }
      taken = heard;
      await replacement;
    },
    done: () => replacement ?? Promise.resolve(),
  };
}
