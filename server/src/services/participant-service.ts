import { create } from "@bufbuild/protobuf";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  type VerifyTokenRequest,
  type VerifyTokenResponse,
  VerifyTokenResponseSchema,
} from "@pnm/protocol/pnm/v1/verify_token_pb";
import type { AccessTokenClaims, AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import { natsSubjects, roomStreamName, userInboxPrefix } from "../nats/subjects.js";
import type { Admission, Membership } from "../rooms/membership.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import type { SeatLedger } from "../rooms/seat-ledger.js";
import { isSeatLive, type SeatTimings, userSeatsOf } from "../rooms/seats.js";
import { isRoomActive, type UserRecord } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { serverVersion } from "../version.js";

/** Where the service reads rooms and users, and what it tells admitted participants. */
export interface ParticipantServiceOptions {
  /** Rooms, users, blocks and seats. */
  store: RoomStore;
  /** Verifies the participants' access tokens. */
  tokens: AccessTokenCodec;
  /** The WebSocket URLs of the NATS plane, read on every VerifyToken (ports may be known only after start). */
  natsWsUrls: () => string[];
  /** How long seats of connections not (yet) connected still count, for the duplicate and room-full checks. */
  timings: SeatTimings;
  /** The rooms' seat counts, shared by everything that takes, frees or counts seats on this instance. */
  ledger: SeatLedger;
}

/** Admits participants: the checks behind VerifyToken, NATS connects and renewal. */
export interface ParticipantService {
  /**
   * VerifyToken: admits the token's user, refuses one already online or a full room,
   * and answers with what the client needs to reach the NATS plane.
   */
  verifyToken(request: VerifyTokenRequest, token: string | undefined): Promise<VerifyTokenResponse>;
  /** Token, room and user checks shared by every participant entry point. */
  admit(token: string | undefined, options?: AdmitOptions): Promise<Admission>;
  /** The room and user checks, for claims verified already (renewal verifies with a grace period). */
  admitClaims(claims: AccessTokenClaims): Promise<Admission>;
  /** The room and user checks for a NATS identity (the subject a request arrived on). */
  admitMember(roomId: string, userId: string, roomSid?: string): Promise<Membership>;
}

/** How `admit` reads the room, the user and the block. */
export interface AdmitOptions {
  /**
   * From the store's watched records (RoomStore.watched), which cost no round
   * trip but may trail the KV by the watch's delay: the caller must confirm
   * a refusal, and any decision that is not an admission, with a fresh admit.
   * Default false: read the KV.
   */
  watched?: boolean;
}

/** Where the member checks read from: the KV itself, or the store's watched records. */
type MemberReads = Pick<RoomStore, "rooms" | "users" | "blocklist"> | RoomStore["watched"];

/** Accepts upstream's raw JWT and, for generic HTTP clients, a Bearer token. */
export function tokenFromAuthorization(header: string | null | undefined): string | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  return value.toLowerCase().startsWith("bearer ") ? value.slice(7).trim() : value;
}

/** The participant service over one room store. */
export function createParticipantService(options: ParticipantServiceOptions): ParticipantService {
  const { store, tokens } = options;
  const { ledger } = options;

  async function admit(token: string | undefined, admitOptions: AdmitOptions = {}): Promise<Admission> {
    if (!token) throw pnmError(FailureReason.TOKEN_MISSING, "Authorization header with the access token is missing");
    return admitClaims(tokens.verify(token), admitOptions.watched ? store.watched : store);
  }

  async function admitClaims(claims: AccessTokenClaims, reads: MemberReads = store): Promise<Admission> {
    const membership = await admitMember(claims.room_id, claims.sub, claims.room_sid, reads);
    const { user } = membership;
    if (user.removedAt !== undefined || (claims.gen ?? 0) !== user.generation) throw revoked(user);
    return { ...membership, claims };
  }

  async function admitMember(
    roomId: string,
    userId: string,
    roomSid?: string,
    reads: MemberReads = store,
  ): Promise<Membership> {
    // One round trip for all three reads (none from the watched records): this is on every NATS connect's path.
    const [roomEntry, user, block] = await Promise.all([
      reads.rooms.get(roomId),
      reads.users.get(userKey(roomId, userId)),
      reads.blocklist.get(userKey(roomId, userId)),
    ]);
    const room = roomEntry?.value;
    if (!room) throw pnmError(FailureReason.ROOM_NOT_FOUND, "room not found");
    // A token of an ended instance stays refused when the room id is used again.
    if (!isRoomActive(room) || (roomSid !== undefined && room.sid !== roomSid))
      throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
    if (block) throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
    if (!user || user.value.roomSid !== room.sid)
      throw pnmError(FailureReason.USER_NOT_FOUND, "user was not issued a token for this room");
    return { room, user: user.value };
  }

  return {
    admit,
    admitClaims: (claims) => admitClaims(claims),
    admitMember: (roomId, userId, roomSid) => admitMember(roomId, userId, roomSid),
    async verifyToken(_request, token) {
      const { claims, room, user } = await admit(token);
      // The waiting room takes no seat: a waiting user connects whether or not the room is full.
      if (!user.waitingForApproval) {
        const record = userSeatsOf((await store.seats.get(userKey(room.roomId, claims.sub)))?.value, room.sid);
        const seat = record.seat && isSeatLive(record.seat, Date.now(), options.timings) ? record.seat : undefined;
        // A seat kept through a short disconnect, or reserved by an approval, is the user's own, for its (re)connect.
        if (
          seat &&
          (seat.state === "pending" || seat.state === "connected") &&
          !(await ledger.releaseIfServerGone(room, claims.sub, seat))
        ) {
          throw pnmError(FailureReason.USER_ALREADY_ONLINE, "user is already online in this room");
        }
        if (!seat && (await ledger.isFull(room))) {
          throw pnmError(FailureReason.ROOM_FULL, "room has reached its participant limit");
        }
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

/** The refusal of a token its user's generation has left behind, named after what raised the generation. */
function revoked(user: UserRecord): Error {
  switch (user.revocation) {
    case "denial":
      return pnmError(FailureReason.USER_DENIED, "user was denied entry by the waiting room; this token is revoked");
    case "demotion":
      return pnmError(
        FailureReason.TOKEN_SUPERSEDED,
        "a newer token with less privilege replaced this one; this token is revoked",
      );
    default:
      return pnmError(FailureReason.USER_REMOVED, "user was removed from this room; this token is revoked");
  }
}
