import { createHash, randomUUID } from "node:crypto";
import { create, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { FailureReason, StatusCode } from "@pnm/protocol/pnm/v1/common_pb";
import {
  type CreateRoomRequest,
  CreateRoomRequestSchema,
  type CreateRoomResponse,
  CreateRoomResponseSchema,
  type EndRoomRequest,
  EndRoomRequestSchema,
  type EndRoomResponse,
  EndRoomResponseSchema,
  type IsRoomActiveRequest,
  IsRoomActiveRequestSchema,
  type IsRoomActiveResponse,
  IsRoomActiveResponseSchema,
  LockSettingsSchema,
  type RoomMetadata,
  RoomMetadataSchema,
} from "@pnm/protocol/pnm/v1/create_room_pb";
import {
  type GetJoinTokenRequest,
  GetJoinTokenRequestSchema,
  type GetJoinTokenResponse,
  GetJoinTokenResponseSchema,
  UserMetadataSchema,
  UserRaisedHandSchema,
} from "@pnm/protocol/pnm/v1/join_token_pb";
import {
  type ApproveParticipantRequest,
  ApproveParticipantRequestSchema,
  type ApproveParticipantResponse,
  ApproveParticipantResponseSchema,
  type DenyParticipantRequest,
  DenyParticipantRequestSchema,
  type DenyParticipantResponse,
  DenyParticipantResponseSchema,
  type RemoveParticipantRequest,
  RemoveParticipantRequestSchema,
  type RemoveParticipantResponse,
  RemoveParticipantResponseSchema,
} from "@pnm/protocol/pnm/v1/participants_pb";
import type { AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import { generateE2eeKey } from "../rooms/e2ee-key.js";
import { fillUnset } from "../rooms/fill-unset.js";
import { accessTokenInput } from "../rooms/membership.js";
import { resolveRoomSettings } from "../rooms/room-defaults.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import type { SeatLedger } from "../rooms/seat-ledger.js";
import { admitFromWaitingRoom, emptyRoomSeats, evictUser, type SeatTimings, userSeatsOf } from "../rooms/seats.js";
import { isRevisionConflict, type Versioned } from "../store/json-kv.js";
import {
  isRoomActive,
  type Revocation,
  type RoomRecord,
  type Seat,
  type UserRecord,
  type UserSeat,
  type UserSeatsRecord,
} from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { assertValid } from "../validation.js";

/** Why a participant's session ends. */
export interface SessionEnd {
  /** Typed, in the SESSION_ENDED message's bin_msg as an ErrorDetail. */
  reason: FailureReason;
  /** Shown to the participant. */
  message: string;
}

/**
 * Ends participants' sessions: declared here, where removals and room ends
 * need it, and implemented by the NATS plane, which the services must not
 * depend on.
 */
export interface SessionControl {
  /** Tells each participant why, then closes its NATS connection at once. */
  end(roomId: string, sessions: [userId: string, seat: Seat][], why: SessionEnd): Promise<void>;
  /**
   * Tells a participant the waiting room admitted it, then closes its
   * waiting-room connection (when it has one), so that it reconnects with
   * the room's permissions.
   */
  promote(roomId: string, userId: string, waiting: Seat | undefined): Promise<void>;
}

/** The state the room service changes, and how it issues tokens. */
export interface RoomServiceOptions {
  /** Rooms, users, blocks and seats. */
  store: RoomStore;
  /** The rooms' seat counts, shared by everything that takes, frees or counts seats on this instance. */
  ledger: SeatLedger;
  /** Mints join tokens. */
  tokens: AccessTokenCodec;
  /** How long a join token is valid, in ms. */
  tokenValidityMs: number;
  /** How long a session lasts at most, from its join token, in ms: no token of it expires later. */
  maxSessionMs: number;
  /** How long seats of connections not (yet) connected still count, for approval's room-full check. */
  timings: SeatTimings;
  /** Disconnects participants who are removed or whose room ends, and promotes approved ones. */
  sessions: SessionControl;
  /** The clock, in Unix ms; default Date.now. */
  now?: () => number;
  /** `PNM_UPSTREAM_WEB_CLIENT`: rooms may be opened to upstream's web client, and are by default. */
  upstreamWebClient?: boolean;
}

/** The signed server-to-server API (`pnm.v1.RoomService`), behind both the RPC and the REST routes. */
export interface RoomService {
  /**
   * Creates a room, or answers with the active room when the same request is repeated;
   * throws ROOM_SETTINGS_CONFLICT for an active room created with other settings.
   */
  createRoom(request: CreateRoomRequest): Promise<CreateRoomResponse>;
  /** Issues a join token for a user of an active room, recording the user; refuses a blocked user. */
  getJoinToken(request: GetJoinTokenRequest): Promise<GetJoinTokenResponse>;
  /**
   * Whether the room exists and has not ended: an unknown room answers false, not ROOM_NOT_FOUND.
   * Answered from the store's watched records: this instance's own changes count at once, another
   * instance's once the bucket's watch brings them (milliseconds).
   */
  isRoomActive(request: IsRoomActiveRequest): Promise<IsRoomActiveResponse>;
  /** Ends an active room: nobody is admitted again, its E2EE key is dropped and every session is ended. */
  endRoom(request: EndRoomRequest): Promise<EndRoomResponse>;
  /**
   * Removes a user from an active room, revoking its tokens and ending its session;
   * with `block_user` it can never rejoin.
   */
  removeParticipant(request: RemoveParticipantRequest): Promise<RemoveParticipantResponse>;
  /**
   * Admits a user the waiting room holds: takes a seat for it (ROOM_FULL when
   * there is none) and promotes its waiting-room connection. A user who is
   * not waiting is left as it is.
   */
  approveParticipant(request: ApproveParticipantRequest): Promise<ApproveParticipantResponse>;
  /** Turns away a user the waiting room holds, as a removal does, ending its session with USER_DENIED. */
  denyParticipant(request: DenyParticipantRequest): Promise<DenyParticipantResponse>;
}

const success = { status: true, msg: "success", statusCode: StatusCode.SUCCESS } as const;

// Rooms whose parsed metadata is kept: forgetting costs only a parse.
const parsedMetadataLimit = 1_000;

/** The room service over one room store. */
export function createRoomService(options: RoomServiceOptions): RoomService {
  const { store, tokens } = options;
  const now = options.now ?? Date.now;
  // A room's metadata parsed once, not on every token: the messages are shared, so only read them.
  const parsed = new Map<string, RoomMetadata>();
  const parsedMetadata = (json: string): RoomMetadata => {
    let metadata = parsed.get(json);
    if (!metadata) {
      if (parsed.size >= parsedMetadataLimit) parsed.clear();
      metadata = parseRoomMetadata(json);
      parsed.set(json, metadata);
    }
    return metadata;
  };
  const { ledger } = options;

  /** Blocks a user; this instance's own reads see it at once, others' once their watch brings it. */
  async function block(key: string): Promise<void> {
    const value = { blockedAt: now() };
    store.watched.blocklist.learn(key, { value, revision: await store.blocklist.put(key, value) });
  }

  function describe(room: RoomRecord): CreateRoomResponse {
    const metadata = parseRoomMetadata(room.metadataJson);
    return create(CreateRoomResponseSchema, {
      ...success,
      roomInfo: {
        roomId: room.roomId,
        sid: room.sid,
        roomTitle: metadata.roomTitle,
        isRunning: 1,
        creationTime: BigInt(room.createdAt),
        webhookUrl: metadata.webhookUrl ?? "",
        metadata: room.metadataJson,
      },
    });
  }

  /**
   * The room, refused unless it is active. `watched`: read from the store's
   * watched records, which cost no round trip once the room has been seen;
   * a refusal is confirmed on a fresh read, so only a room ended on another
   * instance within the watch's delay can still pass (its participants'
   * connects read it afresh).
   */
  async function activeRoom(roomId: string, watched = false): Promise<RoomRecord> {
    const seen = watched ? (await store.watched.rooms.get(roomId))?.value : undefined;
    const room = isRoomActive(seen) ? seen : (await store.rooms.get(roomId))?.value;
    if (!room) throw pnmError(FailureReason.ROOM_NOT_FOUND, "room not found");
    if (!isRoomActive(room)) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
    return room;
  }

  return {
    async createRoom(request) {
      assertValid(CreateRoomRequestSchema, request);
      const requestDigest = createHash("sha256").update(toBinary(CreateRoomRequestSchema, request)).digest("base64url");
      for (let attempt = 0; ; attempt++) {
        const existing = await store.rooms.get(request.roomId);
        if (isRoomActive(existing?.value)) {
          if (existing.value.requestDigest !== requestDigest) {
            throw pnmError(
              FailureReason.ROOM_SETTINGS_CONFLICT,
              "room is already active with other settings; end it first, or repeat the original request",
            );
          }
          return describe(existing.value);
        }
        const nowMs = now();
        const settings = resolveRoomSettings(request, nowMs, { upstreamWebClient: options.upstreamWebClient });
        const e2ee = settings.metadata.roomFeatures!.endToEndEncryptionFeatures!;
        const room: RoomRecord = {
          roomId: request.roomId,
          sid: randomUUID(),
          status: "created",
          createdAt: Math.floor(nowMs / 1000),
          emptyTimeoutSeconds: settings.emptyTimeoutSeconds,
          maxParticipants: settings.maxParticipants,
          metadataJson: toJsonString(RoomMetadataSchema, settings.metadata, { useProtoFieldName: true }),
          e2eeKey: e2ee.isEnabled && !e2ee.enabledSelfInsertEncryptionKey ? generateE2eeKey() : undefined,
          requestDigest,
        };
        try {
          const revision = existing
            ? await store.rooms.update(room.roomId, room, existing.revision)
            : await store.rooms.create(room.roomId, room);
          // Reads from the watched records see the room from now on, not only once the watch brings it.
          store.watched.rooms.learn(room.roomId, { value: room, revision });
          const count = emptyRoomSeats(room.sid);
          store.watched.roomSeats.learn(room.roomId, {
            value: count,
            revision: await store.roomSeats.put(room.roomId, count),
          });
          return describe(room);
        } catch (err) {
          // Another creator won the race: answer as a re-create of its room.
          if (!isRevisionConflict(err) || attempt > 3) throw err;
        }
      }
    },

    async getJoinToken(request) {
      assertValid(GetJoinTokenRequestSchema, request);
      const userInfo = request.userInfo!;
      // The block of the requested user, from the blocklist held whole in memory (no round trip; another
      // instance's block arrives within the watch's delay, and admission checks again); it is the user's
      // unless the room generates user ids, whose fresh ids no block names.
      const block = userInfo.userId ? store.watched.blocklist.get(userKey(request.roomId, userInfo.userId)) : undefined;
      block?.catch(() => undefined); // awaited below, unless the room is refused first
      const room = await activeRoom(request.roomId, true);
      const roomMetadata = parsedMetadata(room.metadataJson);
      const features = roomMetadata.roomFeatures!;
      const userId = features.autoGenUserId ? randomUUID() : userInfo.userId;
      if (!userId) throw pnmError(FailureReason.INVALID_ARGUMENT, "user_info.user_id: value is required");
      if (!features.autoGenUserId && (await block)) {
        throw pnmError(FailureReason.USER_BLOCKED, "this user is blocked to join this session");
      }

      const metadata = userInfo.userMetadata ?? create(UserMetadataSchema);
      // Role fields come from the request's is_admin and the room, never from the caller's metadata.
      metadata.isAdmin = userInfo.isAdmin;
      metadata.isPresenter = false;
      metadata.raisedHand = create(UserRaisedHandSchema);
      metadata.waitForApproval = !userInfo.isAdmin && (features.waitingRoomFeatures?.isActive ?? false);
      metadata.recordWebcam ??= true;
      metadata.exUserId ||= userId;
      metadata.metadataId = randomUUID();
      if (userInfo.isAdmin) {
        metadata.lockSettings = create(LockSettingsSchema);
      } else {
        metadata.lockSettings ??= create(LockSettingsSchema);
        if (roomMetadata.defaultLockSettings)
          fillUnset(LockSettingsSchema, metadata.lockSettings, roomMetadata.defaultLockSettings);
      }

      let demoted: UserRecord | undefined;
      let promoted = false;
      const key = userKey(room.roomId, userId);
      const change = (current: Versioned<UserRecord> | undefined): UserRecord => {
        const previous =
          current?.value.roomSid === room.sid && current.value.removedAt === undefined ? current.value : undefined;
        // Less privilege than the token before (admin to participant, admitted to waiting): that token,
        // and the session holding it, must not keep the higher one.
        const demotes =
          previous !== undefined &&
          ((previous.isAdmin && !userInfo.isAdmin) || (!previous.waitingForApproval && metadata.waitForApproval));
        demoted = demotes ? previous : undefined;
        promoted = previous?.waitingForApproval === true && !metadata.waitForApproval;
        const kept = current?.value.roomSid === room.sid ? current.value : undefined;
        const revocation: Revocation | undefined = demotes ? "demotion" : kept?.revocation;
        return {
          userId,
          name: userInfo.name,
          roomSid: room.sid,
          isAdmin: userInfo.isAdmin,
          isHidden: userInfo.isHidden,
          clientType: userInfo.clientType,
          waitingForApproval: metadata.waitForApproval,
          metadataJson: toJsonString(UserMetadataSchema, metadata, { useProtoFieldName: true }),
          // Later than the token before, whose admissions the demotion refuses by this time.
          issuedAt: Math.max(now(), (kept?.issuedAt ?? 0) + 1),
          generation: (kept?.generation ?? 0) + (demotes ? 1 : 0),
          ...(revocation ? { revocation } : {}),
        } satisfies UserRecord;
      };
      const user = (await createIfNew(key, change)) ?? (await store.modify(store.users, key, change))!;
      if (demoted) await endDemotedSession(room, userId, demoted.issuedAt);
      if (promoted) await promoteWaitingConnection(room, userId);
      const sessionStart = Math.floor(user.issuedAt / 1000);
      const { token } = tokens.mint(
        accessTokenInput({ room, user }, sessionStart),
        Math.min(options.tokenValidityMs, options.maxSessionMs),
        user.issuedAt,
      );
      return create(GetJoinTokenResponseSchema, { ...success, token });
    },

    async isRoomActive(request) {
      assertValid(IsRoomActiveRequestSchema, request);
      // From the watched records: this instance's own changes at once, another's within the watch's delay.
      const active = isRoomActive((await store.watched.rooms.get(request.roomId))?.value);
      return create(IsRoomActiveResponseSchema, {
        status: true,
        msg: active ? "room is active" : "room is not active",
        statusCode: StatusCode.SUCCESS,
        isActive: active,
      });
    },

    async endRoom(request) {
      assertValid(EndRoomRequestSchema, request);
      const ended = await store.modify(store.rooms, request.roomId, (current) => {
        if (!current) throw pnmError(FailureReason.ROOM_NOT_FOUND, "room not found");
        if (!isRoomActive(current.value)) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
        return { ...current.value, status: "ended" as const, e2eeKey: undefined };
      });
      // The close first, then every connection the seats hold: an admission counted after the close is refused,
      // and one counted before it wrote its seat before, so it is among those listed.
      const sid = ended!.sid;
      await store.modify(store.roomSeats, request.roomId, (current) => ({
        ...(current?.value.sid === sid ? current.value : emptyRoomSeats(sid)),
        closed: true,
      }));
      const connections = (await ledger.list(request.roomId, sid)).flatMap(([userId, record]) =>
        [record.seat, record.waiting]
          .filter((seat): seat is Seat => seat !== undefined && seat.state !== "reserved")
          .map((seat): [string, Seat] => [userId, seat]),
      );
      await options.sessions.end(request.roomId, connections, {
        reason: FailureReason.ROOM_ENDED,
        message: "room ended",
      });
      return create(EndRoomResponseSchema, success);
    },

    async removeParticipant(request) {
      assertValid(RemoveParticipantRequestSchema, request);
      const room = await activeRoom(request.roomId);
      const key = userKey(room.roomId, request.userId);
      if (request.blockUser) await block(key);
      else if ((await store.users.get(key))?.value.roomSid !== room.sid)
        throw pnmError(FailureReason.USER_NOT_FOUND, "user is not in this room");
      const reason = request.blockUser ? FailureReason.USER_BLOCKED : FailureReason.USER_REMOVED;
      await revokeUser(room, request.userId, "removal", request.blockUser, {
        reason,
        message: request.msg || (request.blockUser ? "blocked" : "removed"),
      });
      return create(RemoveParticipantResponseSchema, success);
    },

    async approveParticipant(request) {
      assertValid(ApproveParticipantRequestSchema, request);
      const room = await activeRoom(request.roomId);
      const key = userKey(room.roomId, request.userId);
      const [entry, block] = await Promise.all([store.users.get(key), store.blocklist.get(key)]);
      if (block) throw pnmError(FailureReason.USER_BLOCKED, "user is blocked from this room");
      const user = entry?.value;
      if (!user || user.roomSid !== room.sid || user.removedAt !== undefined)
        throw pnmError(FailureReason.USER_NOT_FOUND, "user is not in this room");
      if (!user.waitingForApproval) return create(ApproveParticipantResponseSchema, success);
      // The seat first, by compare-and-set with the limit, as a connect takes one: approvals never fill a room past it.
      let before: UserSeatsRecord = { sid: room.sid };
      let reservation: ReturnType<typeof admitFromWaitingRoom> | undefined;
      await store.modify(store.seats, key, (current) => {
        before = userSeatsOf(current?.value, room.sid);
        reservation = admitFromWaitingRoom(
          current?.value,
          { sid: room.sid, issuedAt: user.issuedAt, epoch: ledger.epoch(room), now: now() },
          options.timings,
        );
        return reservation.record;
      });
      const waiting = reservation!.waiting;
      if (reservation!.uncounted) {
        try {
          await ledger.take(room);
        } catch (err) {
          await ledger.putBack(room, request.userId, reservation!.record.seat!, before);
          throw err;
        }
      }
      await store.modify(store.users, key, (current) => {
        if (current?.value.roomSid !== room.sid || current.value.removedAt !== undefined)
          throw pnmError(FailureReason.USER_NOT_FOUND, "user is not in this room");
        if (!current.value.waitingForApproval) return undefined;
        const metadata = fromJsonString(UserMetadataSchema, current.value.metadataJson, { ignoreUnknownFields: true });
        metadata.waitForApproval = false;
        return {
          ...current.value,
          waitingForApproval: false,
          metadataJson: toJsonString(UserMetadataSchema, metadata, { useProtoFieldName: true }),
        };
      });
      await options.sessions.promote(room.roomId, request.userId, waiting);
      return create(ApproveParticipantResponseSchema, success);
    },

    async denyParticipant(request) {
      assertValid(DenyParticipantRequestSchema, request);
      const room = await activeRoom(request.roomId);
      const user = (await store.users.get(userKey(room.roomId, request.userId)))?.value;
      if (!user || user.roomSid !== room.sid) throw pnmError(FailureReason.USER_NOT_FOUND, "user is not in this room");
      if (!user.waitingForApproval || user.removedAt !== undefined) {
        throw pnmError(
          FailureReason.USER_NOT_WAITING,
          "user is not in the waiting room; remove an admitted participant with RemoveParticipant",
        );
      }
      if (request.blockUser) await block(userKey(room.roomId, request.userId));
      await revokeUser(room, request.userId, "denial", request.blockUser, {
        reason: FailureReason.USER_DENIED,
        message: request.msg || "denied",
      });
      return create(DenyParticipantResponseSchema, success);
    },
  };

  /**
   * Takes the user's connections out of the room and revokes its tokens
   * (for good when blocked), then ends its sessions with `why`. The seats
   * record first: an admission racing with this loses the compare-and-set.
   */
  async function revokeUser(
    room: RoomRecord,
    userId: string,
    revocation: Revocation,
    block: boolean,
    why: SessionEnd,
  ): Promise<void> {
    const revokedAt = now();
    const evicted = await evict(room, userId, block ? 0 : revokedAt);
    await store.modify(store.users, userKey(room.roomId, userId), (current) =>
      current?.value.roomSid === room.sid
        ? { ...current.value, generation: current.value.generation + 1, removedAt: revokedAt, revocation }
        : undefined,
    );
    if (evicted.length > 0)
      await options.sessions.end(
        room.roomId,
        evicted.map((seat): [string, Seat] => [userId, seat]),
        why,
      );
  }

  /**
   * The user's first record, written in one round trip (a create, which
   * fails when the key exists) instead of a read and a create, when this
   * process has seen no record of the user: the users bucket is watched, so
   * an unseen user is a new one unless its record predates this process.
   * Undefined when the record exists after all, for the caller to change it
   * by compare-and-set.
   */
  async function createIfNew(key: string, change: (current: undefined) => UserRecord): Promise<UserRecord | undefined> {
    if (store.watched.users.latest(key)) return undefined;
    const fresh = change(undefined);
    try {
      const revision = await store.users.create(key, fresh);
      store.watched.users.learn(key, { value: fresh, revision });
      return fresh;
    } catch (err) {
      if (isRevisionConflict(err)) return undefined;
      throw err;
    }
  }

  /**
   * A demoted user's live connections go: admissions of tokens issued up to
   * `previousIssuedAt` are refused from now on (the record's generation
   * already refuses them at every other entry point), and the session
   * holding the older token ends.
   */
  async function endDemotedSession(room: RoomRecord, userId: string, previousIssuedAt: number): Promise<void> {
    const roomId = room.roomId;
    const evicted = await evict(room, userId, previousIssuedAt);
    if (evicted.length > 0) {
      const why = {
        reason: FailureReason.TOKEN_SUPERSEDED,
        message: "a newer token with less privilege replaced this session's",
      };
      await options.sessions.end(
        roomId,
        evicted.map((seat): [string, Seat] => [userId, seat]),
        why,
      );
    }
  }

  /** A waiting user issued a token that needs no approval (an admin's) leaves the waiting room as an approved one does. */
  async function promoteWaitingConnection(room: RoomRecord, userId: string): Promise<void> {
    let waiting: Seat | undefined;
    await store.modify(store.seats, userKey(room.roomId, userId), (current) => {
      waiting = current?.value.sid === room.sid ? current.value.waiting : undefined;
      if (!waiting) return undefined;
      const { waiting: _promoted, ...rest } = current!.value;
      return rest;
    });
    if (waiting) await options.sessions.promote(room.roomId, userId, waiting);
  }

  /**
   * Takes the user's connections out of the room's seats and revokes its
   * tokens issued up to `revokedAt` (0: for good), in one compare-and-set of
   * the user's seats record, which every admission of the user writes too:
   * an admission racing with this either comes first and is evicted, or
   * comes second and is refused. The seat given up leaves the room's count.
   */
  async function evict(room: RoomRecord, userId: string, revokedAt: number): Promise<Seat[]> {
    let evicted: Seat[] = [];
    let freed: UserSeat | undefined;
    await store.modify(store.seats, userKey(room.roomId, userId), (current) => {
      const result = evictUser(current?.value, room.sid, revokedAt);
      [evicted, freed] = [result.evicted, result.freed];
      return result.record;
    });
    await ledger.giveBack(room.roomId, room.sid, freed);
    return evicted;
  }
}
