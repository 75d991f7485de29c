/**
 * pnm's client SDK, for browsers and Node alike (fetch, WebCrypto,
 * WebSocket): the signed server-to-server API (`createRoomServiceClient`) and
 * a participant's end-to-end encrypted session (`joinSession`).
 * `@pnm/client/node` has what only Node needs, `@pnm/client/e2ee` the
 * encryption primitives and `@pnm/client/protocol` the plumbing underneath.
 *
 * @packageDocumentation
 */

export { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
export { DecryptionError } from "./e2ee/errors.js";
export { failureReason } from "./failure-reason.js";
export { applyLiveKitKey, type LiveKitKeyProvider } from "./livekit-key.js";
export { type WebSocketConstructor, WebSocketUnavailableError } from "./nats/participant-connection.js";
export {
  createRoomServiceClient,
  type RoomServiceClient,
  type RoomServiceClientOptions,
} from "./room-service-client.js";
export {
  joinSession,
  type ParticipantSession,
  type ParticipantSessionOptions,
  type SessionEvents,
} from "./session/participant-session.js";
export { SenderMismatchError } from "./session/peer-channels.js";
export {
  BlockedError,
  DeniedError,
  JoinRefusedError,
  RemovedError,
  RoomEndedError,
  SessionError,
  SessionExpiredError,
  TokenExpiredError,
  TokenRenewalError,
} from "./session/session-errors.js";
export type {
  PeerMessageEnvelope,
  PeerMessageSender,
  ReceivedChat,
  ReceivedData,
} from "./session/session-events.js";
export type { SessionStep } from "./session/session-steps.js";
export type { SigningOptions } from "./signing-http-client.js";
export type { Protocol, TransportOptions } from "./transport.js";
