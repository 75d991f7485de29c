import { create } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/gen/pnm/v1/common_pb";
import {
  type VerifyTokenRequest,
  type VerifyTokenResponse,
  VerifyTokenResponseSchema,
} from "@pnm/gen/pnm/v1/verify_token_pb";
import type { AccessTokenClaims, AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import { natsSubjects, roomStreamName, userInboxPrefix } from "../nats/subjects.js";
import type { RoomRecord, UserRecord } from "../store/records.js";
import { isRoomActive } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { serverVersion } from "../version.js";

export interface ParticipantServiceOptions {
  store: RoomStore;
  tokens: AccessTokenCodec;
  natsWsUrls: () => string[];
}

export interface Admission {
  claims: AccessTokenClaims;
  room: RoomRecord;
  user: UserRecord;
}

export interface ParticipantService {
  verifyToken(request: VerifyTokenRequest, token: string | undefined): Promise<VerifyTokenResponse>;
  /** Token, room and user checks shared by every participant entry point. */
  admit(token: string | undefined): Promise<Admission>;
}

/** Accepts upstream's raw JWT and, for generic HTTP clients, a Bearer token. */
export function tokenFromAuthorization(header: string | null | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  return value.toLowerCase().startsWith("bearer ") ? value.slice(7).trim() : value;
}

export function createParticipantService(options: ParticipantServiceOptions): ParticipantService {
  const { store, tokens } = options;

  async function admit(token: string | undefined): Promise<Admission> {
    if (!token) throw pnmError(FailureReason.TOKEN_MISSING, "Authorization header with the access token is missing");
    const claims = tokens.verify(token);
    const room = (await store.rooms.get(claims.room_id))?.value;
    if (!room) throw pnmError(FailureReason.ROOM_NOT_FOUND, "room not found");
    if (!isRoomActive(room) || room.sid !== claims.room_sid) {
      throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
    }
    const user = (await store.users.get(userKey(room.roomId, claims.sub)))?.value;
    if (!user || user.roomSid !== room.sid) throw pnmError(FailureReason.USER_NOT_FOUND, "user was not issued a token for this room");
    if (await store.blocklist.get(userKey(room.roomId, claims.sub))) {
      throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
    }
    return { claims, room, user };
  }

  return {
    admit,
    async verifyToken(_request, token) {
      const { claims, room } = await admit(token);
      const holders = (await store.seats.get(room.roomId))?.value.holders ?? {};
      if (claims.sub in holders) {
        throw pnmError(FailureReason.USER_ALREADY_ONLINE, "user is already online in this room");
      }
      if (room.maxParticipants > 0 && Object.keys(holders).length >= room.maxParticipants) {
        throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
      }
      const e2ee = parseRoomMetadata(room.metadataJson).roomFeatures?.endToEndEncryptionFeatures;
      return create(VerifyTokenResponseSchema, {
        status: true,
        msg: "token is valid",
        natsWsUrls: options.natsWsUrls(),
        serverVersion,
        roomId: room.roomId,
        userId: claims.sub,
        roomStreamName,
        natsSubjects,
        enabledSelfInsertEncryptionKey: Boolean(e2ee?.isEnabled && e2ee.enabledSelfInsertEncryptionKey),
        clientType: claims.client_type ?? 0,
        natsInboxPrefix: userInboxPrefix(room.roomId, claims.sub),
        tokenExpiresAt: BigInt(claims.exp),
      });
    },
  };
}
