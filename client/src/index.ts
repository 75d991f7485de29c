export { signBody } from "./api-signature.js";
export { createSigningHttpClient, type SigningOptions } from "./signing-http-client.js";
export { createPnmTransport, type Protocol, type TransportOptions } from "./transport.js";
export { createRoomServiceClient, type RoomServiceClient, type RoomServiceClientOptions } from "./room-service-client.js";
export { createParticipantClient, type ParticipantClient, type ParticipantClientOptions } from "./participant-client.js";
export { createFetchHttpClient } from "./fetch-http-client.js";
export { connectParticipant, type ParticipantConnectionOptions, type WebSocketConstructor, WebSocketUnavailableError } from "./nats/participant-connection.js";
