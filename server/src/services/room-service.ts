import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createHash, randomUUID } from "node:crypto";
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
  type RemoveParticipantRequest,
  RemoveParticipantRequestSchema,
  type RemoveParticipantResponse,
  RemoveParticipantResponseSchema,
} from "@pnm/protocol/pnm/v1/participants_pb";
import type { AccessTokenCodec } from "../auth/access-token.js";
import { pnmError } from "../errors.js";
import { generateE2eeKey } from "../rooms/e2ee-key.js";
import { fillUnset } from "../rooms/fill-unset.js";
import { parseRoomMetadata } from "../rooms/room-metadata.js";
import { resolveRoomSettings } from "../rooms/room-defaults.js";
import { isRevisionConflict } from "../store/json-kv.js";
import { isRoomActive, type RoomRecord, type Seat, type UserRecord } from "../store/records.js";
import { emptySeats } from "../rooms/seats.js";
import type { SessionControl } from "../nats/session-control.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { assertValid } from "../validation.js";

export interface RoomServiceOptions {
  store: RoomStore;
  tokens: AccessTokenCodec;
  tokenValidityMs: number;
  /** Disconnects participants who are removed or whose room ends. */
  sessions: SessionControl;
  now?: () => number;
}

export interface RoomService {
  createRoom(request: CreateRoomRequest): Promise<CreateRoomResponse>;
  getJoinToken(request: GetJoinTokenRequest): Promise<GetJoinTokenResponse>;
  isRoomActive(request: IsRoomActiveRequest): Promise<IsRoomActiveResponse>;
  endRoom(request: EndRoomRequest): Promise<EndRoomResponse>;
  removeParticipant(request: RemoveParticipantRequest): Promise<RemoveParticipantResponse>;
}

const success = { status: true, msg: "success", statusCode: StatusCode.SUCCESS } as const;

export function createRoomService(options: RoomServiceOptions): RoomService {
  const { store, tokens } = options;
  const now = options.now ?? Date.now;

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

  async function activeRoom(roomId: string): Promise<RoomRecord> {
    const room = (await store.rooms.get(roomId))?.value;
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
        const settings = resolveRoomSettings(request, nowMs);
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
          if (existing) await store.rooms.update(room.roomId, room, existing.revision);
          else await store.rooms.create(room.roomId, room);
          await store.seats.put(room.roomId, emptySeats());
          return describe(room);
        } catch (err) {
          // Another creator won the race: answer as a re-create of its room.
          if (!isRevisionConflict(err) || attempt > 3) throw err;
        }
      }
    },

    async getJoinToken(request) {
      assertValid(GetJoinTokenRequestSchema, request);
      const room = await activeRoom(request.roomId);
      const userInfo = request.userInfo!;
      const features = parseRoomMetadata(room.metadataJson).roomFeatures!;
      const userId = features.autoGenUserId ? randomUUID() : userInfo.userId;
      if (!userId) throw pnmError(FailureReason.INVALID_ARGUMENT, "user_info.user_id: value is required");
      if (await store.blocklist.get(userKey(room.roomId, userId))) {
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
        const roomLocks = parseRoomMetadata(room.metadataJson).defaultLockSettings;
        if (roomLocks) fillUnset(LockSettingsSchema, metadata.lockSettings, roomLocks);
      }

      const issuedAt = now();
      const user = await store.modify(store.users, userKey(room.roomId, userId), (current) => {
        const previous = current?.value.roomSid === room.sid ? current.value : undefined;
        return {
          userId,
          name: userInfo.name,
          roomSid: room.sid,
          isAdmin: userInfo.isAdmin,
          isHidden: userInfo.isHidden,
          clientType: userInfo.clientType,
          status: previous?.status ?? "added",
          waitingForApproval: metadata.waitForApproval,
          metadataJson: toJsonString(UserMetadataSchema, metadata, { useProtoFieldName: true }),
          issuedAt,
          generation: previous?.generation ?? 0,
        } satisfies UserRecord;
      });
      const { token } = tokens.mint(
        {
          userId,
          name: userInfo.name,
          roomId: room.roomId,
          roomSid: room.sid,
          isAdmin: userInfo.isAdmin,
          isHidden: userInfo.isHidden,
          clientType: userInfo.clientType,
          generation: user!.generation,
        },
        options.tokenValidityMs,
        issuedAt,
      );
      return create(GetJoinTokenResponseSchema, { ...success, token });
    },

    async isRoomActive(request) {
      assertValid(IsRoomActiveRequestSchema, request);
      const active = isRoomActive((await store.rooms.get(request.roomId))?.value);
      return create(IsRoomActiveResponseSchema, {
        status: true,
        msg: active ? "room is active" : "room is not active",
        statusCode: StatusCode.SUCCESS,
        isActive: active,
      });
    },

    async endRoom(request) {
      assertValid(EndRoomRequestSchema, request);
      await store.modify(store.rooms, request.roomId, (current) => {
        if (!current) throw pnmError(FailureReason.ROOM_NOT_FOUND, "room not found");
        if (!isRoomActive(current.value)) throw pnmError(FailureReason.ROOM_NOT_ACTIVE, "room is not active");
        return { ...current.value, status: "ended" as const, e2eeKey: undefined };
      });
      let holders: Record<string, Seat> = {};
      await store.modify(store.seats, request.roomId, (current) => {
        holders = current?.value.holders ?? {};
        return { ...(current?.value ?? emptySeats()), holders: {}, closed: true };
      });
      await options.sessions.end(request.roomId, Object.entries(holders), { reason: FailureReason.ROOM_ENDED, message: "room ended" });
      return create(EndRoomResponseSchema, success);
    },

    async removeParticipant(request) {
      assertValid(RemoveParticipantRequestSchema, request);
      const room = await activeRoom(request.roomId);
      const key = userKey(room.roomId, request.userId);
      if (request.blockUser) await store.blocklist.put(key, { blockedAt: now() });
      else if ((await store.users.get(key))?.value.roomSid !== room.sid) throw pnmError(FailureReason.USER_NOT_FOUND, "user is not in this room");
      const removedAt = now();
      // Revoked in the seats record first: an admission racing with this removal loses the compare-and-set.
      let seat: Seat | undefined;
      await store.modify(store.seats, room.roomId, (current) => {
        const value = current?.value ?? emptySeats();
        const { [request.userId]: removed, ...holders } = value.holders;
        seat = removed;
        return { ...value, holders, revoked: { ...value.revoked, [request.userId]: request.blockUser ? 0 : removedAt } };
      });
      await store.modify(store.users, key, (current) =>
        current?.value.roomSid === room.sid ? { ...current.value, generation: current.value.generation + 1, removedAt } : undefined,
      );
      if (seat) {
        const reason = request.blockUser ? FailureReason.USER_BLOCKED : FailureReason.USER_REMOVED;
        await options.sessions.end(room.roomId, [[request.userId, seat]], { reason, message: request.msg || (request.blockUser ? "blocked" : "removed") });
      }
      return create(RemoveParticipantResponseSchema, success);
    },
  };
}
