import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Logger } from "../logger.js";
import { pnmAccount } from "../nats/nats-config.js";
import type { SeatLedger } from "../rooms/seat-ledger.js";
import { freeOfflineSeat, leaveWaitingRoom, type SeatTimings, updateSeat } from "../rooms/seats.js";
import type { UserSeat } from "../store/records.js";
import { type RoomStore, userKey } from "../store/room-store.js";
import { parseParticipantUserName } from "./permissions.js";

export interface PresenceOptions {
  /** The system user's connection: connection events are published in $SYS. */
  systemConnection: NatsConnection;
  store: RoomStore;
  /** The rooms' seat counts, shared by everything that takes, frees or counts seats on this instance. */
  ledger: SeatLedger;
  timings: SeatTimings;
  logger: Logger;
  now?: () => number;
  /** After a user went offline and its seat was freed: what else goes with it (the consumer of upstream's web client). */
  onOffline?: (roomId: string, userId: string) => Promise<void>;
}

export interface PresenceTracker {
  close(): void;
}

interface ConnectionEvent {
  client?: { id?: number; user?: string; client_type?: string };
  server?: { id?: string };
}

/**
 * Follows nats-server's CONNECT and DISCONNECT events (one instance handles
 * each, through a queue group) and moves each participant's seat along:
 * pending → connected → disconnected → freed once offline. The seat's state
 * is the participant's presence; nothing else is written, so an event costs
 * one write of the user's seats record. Going offline writes only in a room
 * with a limit: the seat leaves the user's record, then the room's count.
 */
export function startPresenceTracker(options: PresenceOptions): PresenceTracker {
  const { store, timings, logger } = options;
  const now = options.now ?? Date.now;
  const { ledger } = options;
  const timers = new Set<NodeJS.Timeout>();

  async function onEvent(kind: "CONNECT" | "DISCONNECT", event: ConnectionEvent): Promise<void> {
    const identity = parseParticipantUserName(event.client?.user);
    const cid = event.client?.id;
    const serverId = event.server?.id;
    if (!identity || cid === undefined || !serverId) return;
    const { roomId, userId } = identity;
    const state = kind === "CONNECT" ? "connected" : "disconnected";
    // A connection from the waiting room holds no seat; once it is gone it is forgotten.
    const changed = await store.modify(
      store.seats,
      userKey(roomId, userId),
      (current) =>
        current &&
        (updateSeat(current.value, cid, serverId, state, now(), timings) ??
          (kind === "DISCONNECT" ? leaveWaitingRoom(current.value, cid, serverId) : undefined)),
    );
    const seat = changed?.seat;
    if (kind === "CONNECT" || !seat || seat.cid !== cid || seat.serverId !== serverId) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void goOffline(roomId, userId, cid, serverId).catch((err: unknown) =>
        logger.error("presence: offline transition failed", err),
      );
    }, timings.offlineAfterMs);
    timers.add(timer);
  }

  async function goOffline(roomId: string, userId: string, cid: number, serverId: string): Promise<void> {
    const key = userKey(roomId, userId);
    // A seat no count holds (a room without a limit) needs no write: past offlineAfterMs it no longer counts
    // (isSeatLive). Whether it is still this connection's is read from the watched records, which have seen
    // the disconnect written, and any reconnect as soon as the watch brings it.
    const seen = (await store.watched.seats.get(key))?.value;
    const offline = seen && freeOfflineSeat(seen, cid, serverId)?.freed;
    if (offline && offline.counted === undefined) return options.onOffline?.(roomId, userId);
    let freed: UserSeat | undefined;
    let sid = "";
    await store.modify(store.seats, key, (current) => {
      freed = undefined; // a retried compare-and-set decides again
      const result = current && freeOfflineSeat(current.value, cid, serverId);
      if (!result) return undefined;
      [freed, sid] = [result.freed, current.value.sid];
      return result.record;
    });
    if (!freed) return;
    await ledger.giveBack(roomId, sid, freed);
    await options.onOffline?.(roomId, userId);
  }

  const subscriptions: Subscription[] = (["CONNECT", "DISCONNECT"] as const).map((kind) =>
    options.systemConnection.subscribe(`$SYS.ACCOUNT.${pnmAccount}.${kind}`, {
      queue: "pnm-presence",
      callback: (err, msg) => {
        if (err) return void logger.error("presence subscription failed", err);
        onEvent(kind, msg.json<ConnectionEvent>()).catch((e: unknown) =>
          logger.error(`presence: ${kind} event failed`, e),
        );
      },
    }),
  );
  return {
    close() {
      for (const subscription of subscriptions) subscription.unsubscribe();
      timers.forEach(clearTimeout);
    },
  };
}
