/**
 * The plumbing under `@pnm/client`, for callers that assemble clients of
 * their own: body signing and the signing HTTP client, the Connect, gRPC-web
 * and gRPC transport over fetch, the participant's RPC client and NATS
 * connection, and the token renewal schedule.
 *
 * @packageDocumentation
 */
export { canonicalStringV2, randomNonce, type SignatureV2Input, signBody, signV2 } from "../api-signature.js";
export { createFetchHttpClient } from "../fetch-http-client.js";
export {
  NatsAuthorizationError,
  NatsConnectionClosedError,
  NatsError,
  type NatsErrorCode,
  NatsPermissionError,
  NatsTimeoutError,
} from "../nats/nats-errors.js";
export type { NatsHeaderFields, NatsHeaders } from "../nats/nats-headers.js";
export type { NatsMessage, NatsServerInfo } from "../nats/nats-parser.js";
export {
  connectParticipant,
  type ParticipantConnectionOptions,
  type WebSocketConstructor,
  WebSocketUnavailableError,
} from "../nats/participant-connection.js";
export {
  connectNats,
  type NatsConnection,
  type NatsConnectionOptions,
  type NatsPublishOptions,
  type NatsSubscription,
} from "../nats/ws-connection.js";
export {
  createParticipantClient,
  type ParticipantClient,
  type ParticipantClientOptions,
} from "../participant-client.js";
export { type RenewalScheduleOptions, readTokenTimes, renewalDelayMs } from "../session/renewal-schedule.js";
export { createSigningHttpClient, type SigningOptions } from "../signing-http-client.js";
export { createPnmTransport, type Protocol, type TransportOptions } from "../transport.js";
