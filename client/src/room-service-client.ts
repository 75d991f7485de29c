import { type Client, createClient } from "@connectrpc/connect";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { createSigningHttpClient, type SigningOptions } from "./signing-http-client.js";
import { createPnmTransport, type TransportOptions } from "./transport.js";

/** The server to call and the API key and secret to sign with. */
export interface RoomServiceClientOptions extends TransportOptions, SigningOptions {}

/** `pnm.v1.RoomService`: create rooms, issue join tokens, end rooms, remove participants. */
export type RoomServiceClient = Client<typeof RoomService>;

/** The server-to-server API, with every request signed with the API secret. */
export function createRoomServiceClient(options: RoomServiceClientOptions): RoomServiceClient {
  return createClient(
    RoomService,
    createPnmTransport(options, (http) => createSigningHttpClient(http, options)),
  );
}
