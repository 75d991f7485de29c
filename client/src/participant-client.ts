import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { ParticipantService } from "@pnm/protocol/pnm/v1/participant_service_pb";
import { createPnmTransport, type TransportOptions } from "./transport.js";

/** Where the server is, and the participant's access token. */
export interface ParticipantClientOptions extends TransportOptions {
  /** Read on every call, so a renewed token is used as soon as it arrives. */
  token: () => string;
}

/** `pnm.v1.ParticipantService` (VerifyToken). */
export type ParticipantClient = Client<typeof ParticipantService>;

/** Participant calls, authenticated with the access token in Authorization (raw JWT, as upstream). */
export function createParticipantClient(options: ParticipantClientOptions): ParticipantClient {
  const authorize: Interceptor = (next) => (req) => {
    req.header.set("Authorization", options.token());
    return next(req);
  };
  return createClient(
    ParticipantService,
    createPnmTransport({ ...options, interceptors: [authorize, ...(options.interceptors ?? [])] }),
  );
}
