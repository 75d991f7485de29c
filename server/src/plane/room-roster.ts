import { create, type JsonValue, toJson } from "@bufbuild/protobuf";
import { NatsKvUserInfoSchema } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { SeatLedger } from "../rooms/seat-ledger.js";
import type { UserRecord } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";

/** Who is in a room now, as participants may see it. */
export interface RoomRoster {
  /**
   * The users of the room instance `roomSid` whose connection holds a seat
   * and is connected (or admitted and connecting), hidden users left out,
   * `except` (the asker) too.
   */
  online(roomId: string, roomSid: string, except: string): Promise<UserRecord[]>;
}

export interface RoomRosterOptions {
  store: RoomStore;
  /** The rooms' seat counts, shared by everything that takes, frees or counts seats on this instance. */
  ledger: SeatLedger;
  /**
   * How long one reading of a room's users answers every asker, in ms;
   * default 1000. Upstream's web client asks every 30 s per participant, and
   * each reading costs a listing of the room's seat keys and two KV gets per
   * user seated.
   */
  freshForMs?: number;
  now?: () => number;
}

export function createRoomRoster(options: RoomRosterOptions): RoomRoster {
  const { store } = options;
  const { ledger } = options;
  const freshForMs = options.freshForMs ?? 1_000;
  const now = options.now ?? Date.now;
  const recent = new Map<string, { at: number; users: Promise<UserRecord[]> }>();

  async function read(roomId: string, roomSid: string): Promise<UserRecord[]> {
    const ids = (await ledger.list(roomId, roomSid))
      // Admitted connections, whether or not their connect event was seen yet; a dropped one is no longer online.
      .filter(([, record]) => record.seat?.state === "connected" || record.seat?.state === "pending")
      .map(([userId]) => userId);
    const users = await Promise.all(ids.map((userId) => store.users.get(userKey(roomId, userId))));
    return users.flatMap((entry) =>
      entry && entry.value.roomSid === roomSid && !entry.value.isHidden && entry.value.removedAt === undefined
        ? [entry.value]
        : [],
    );
  }

  return {
    async online(roomId, roomSid, except) {
      const key = `${roomId} ${roomSid}`;
      let entry = recent.get(key);
      if (!entry || now() - entry.at > freshForMs) {
        for (const [k, old] of recent) if (now() - old.at > freshForMs) recent.delete(k);
        entry = { at: now(), users: read(roomId, roomSid) };
        recent.set(key, entry);
        entry.users.catch(() => recent.delete(key));
      }
      return (await entry.users).filter((user) => user.userId !== except);
    },
  };
}

/**
 * Upstream's user list answer (`RES_JOINED_USERS_LIST`, `RESP_ONLINE_USERS_LIST`):
 * a JSON array of NatsKvUserInfo, each in protojson with proto field names.
 */
export function userListJson(users: readonly UserRecord[]): string {
  const list: JsonValue[] = users.map((user) =>
    toJson(
      NatsKvUserInfoSchema,
      create(NatsKvUserInfoSchema, {
        userId: user.userId,
        name: user.name,
        isAdmin: user.isAdmin,
        metadata: user.metadataJson,
        clientType: user.clientType,
      }),
      { useProtoFieldName: true },
    ),
  );
  return JSON.stringify(list);
}
