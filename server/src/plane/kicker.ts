import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../logger.js";
import type { Seat } from "../store/records.js";

export interface Kicker {
  /** Closes one client connection on whichever nats-server it is attached to. */
  kick(seat: Pick<Seat, "cid" | "serverId">): Promise<void>;
}

/** Kicks through nats-server's system API, with the system user's connection. */
export function createKicker(systemConnection: NatsConnection, logger: Logger): Kicker {
  return {
    async kick({ cid, serverId }) {
      try {
        await systemConnection.request(`$SYS.REQ.SERVER.${serverId}.KICK`, JSON.stringify({ cid }), { timeout: 2_000 });
      } catch (err) {
        logger.error(`kick of client ${cid} on ${serverId} failed`, err);
      }
    },
  };
}
