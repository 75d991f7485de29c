import type { NatsConnection } from "@nats-io/nats-core";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import type { Logger } from "../logger.js";
import { pnmAccount } from "../nats/nats-config.js";
import type { SessionControl } from "../services/room-service.js";
import { parseParticipantUserName } from "./permissions.js";

/**
 * How much one participant connection may publish, on every subject together
 * (worker, peer, upstream's peer subjects alike): nats-server counts each
 * connection's messages and bytes, and pnm reads the counters every
 * `checkIntervalMs`.
 */
export interface PublishLimits {
  /** Messages per second (`PNM_PUBLISH_RATE`). */
  messagesPerSecond: number;
  /** Bytes per second (`PNM_PUBLISH_BYTE_RATE`). */
  bytesPerSecond: number;
  /** How often the counters are read; 0 switches the limits off (`PNM_PUBLISH_CHECK_INTERVAL`). */
  checkIntervalMs: number;
}

/**
 * pnm's defaults: far above what a session sends (chat, a drawing
 * whiteboard, upstream's pings), counting that pnm's client publishes each
 * peer message twice (its own subject and upstream's shared one), and one
 * message of the largest payload (1 MiB), twice, per second.
 */
export const defaultPublishLimits: Readonly<PublishLimits> = {
  messagesPerSecond: 200,
  bytesPerSecond: 2 * 1024 * 1024,
  checkIntervalMs: 1000,
};

export interface PublishMonitor {
  /** Stops reading; waits for a check under way. */
  close(): Promise<void>;
}

/** The parts of a CONNZ answer the monitor reads (nats-server's ConnInfo, with `auth: true`). */
interface ConnzAnswer {
  data?: {
    server_id?: string;
    now?: string;
    connections?: { cid?: number; start?: string; in_msgs?: number; in_bytes?: number; authorized_user?: string }[];
  };
}

interface Sample {
  /** Server time of the reading, in ms. */
  at: number;
  msgs: number;
  bytes: number;
}

/**
 * Ends the session of a participant that publishes faster than the limits
 * allow: SESSION_ENDED with RATE_LIMITED on its private subject, then the
 * connection is closed. nats-server has no publish rate limit of its own, and
 * messages on upstream's shared peer subjects (`chat.R`) name no sender, so
 * the server's per-connection counters (`$SYS.REQ.ACCOUNT.PNM.CONNZ`) are the
 * one place where every publish is attributed.
 *
 * Between two readings `dt` apart (for a new connection: since it connected),
 * a connection may have published `rate × max(dt, interval)`: one interval's
 * worth as a burst, the rate on average. A flood is stopped within about one
 * interval; what the flooder sent before that was delivered. Every pnm
 * instance checks, and every nats-server of a cluster answers.
 */
export function startPublishMonitor(options: {
  systemNc: NatsConnection;
  sessions: SessionControl;
  limits: PublishLimits;
  logger: Logger;
}): PublishMonitor {
  const { systemNc, sessions, limits, logger } = options;
  const samples = new Map<string, Sample>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  async function read(): Promise<ConnzAnswer[]> {
    const answers: ConnzAnswer[] = [];
    const replies = await systemNc.requestMany(
      `$SYS.REQ.ACCOUNT.${pnmAccount}.CONNZ`,
      JSON.stringify({ auth: true, limit: 1_000_000 }),
      {
        strategy: "stall",
        stall: 100,
        maxWait: 5_000,
      },
    );
    for await (const reply of replies) answers.push(reply.json<ConnzAnswer>());
    return answers;
  }

  async function check(): Promise<void> {
    const seen = new Set<string>();
    for (const { data } of await read()) {
      const serverId = data?.server_id;
      const now = Date.parse(data?.now ?? "");
      if (!serverId || Number.isNaN(now)) continue;
      for (const conn of data?.connections ?? []) {
        const identity = parseParticipantUserName(conn.authorized_user);
        const started = Date.parse(conn.start ?? "");
        if (!identity || conn.cid === undefined || Number.isNaN(started)) continue;
        const key = `${serverId}/${conn.cid}`;
        seen.add(key);
        const current: Sample = { at: now, msgs: conn.in_msgs ?? 0, bytes: conn.in_bytes ?? 0 };
        const previous = samples.get(key) ?? { at: started, msgs: 0, bytes: 0 };
        samples.set(key, current);
        const seconds = Math.max(current.at - previous.at, limits.checkIntervalMs) / 1000;
        const msgs = current.msgs - previous.msgs;
        const bytes = current.bytes - previous.bytes;
        if (msgs <= limits.messagesPerSecond * seconds && bytes <= limits.bytesPerSecond * seconds) continue;
        const what = msgs > limits.messagesPerSecond * seconds ? `${msgs} messages` : `${bytes} bytes`;
        logger.debug?.(
          `participant ${identity.userId} of room ${identity.roomId} published ${what} in ${seconds.toFixed(1)} s: session ended`,
        );
        const seat = { cid: conn.cid, serverId, state: "connected" as const, at: now };
        await sessions.end(identity.roomId, [[identity.userId, seat]], {
          reason: FailureReason.RATE_LIMITED,
          message: "you sent too much too fast; your session was ended",
        });
      }
    }
    for (const key of samples.keys()) if (!seen.has(key)) samples.delete(key);
  }

  function schedule(): void {
    if (closed || limits.checkIntervalMs === 0) return;
    timer = setTimeout(() => {
      running = check()
        .catch((err: unknown) => logger.error("publish limits: reading the connection counters failed", err))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, limits.checkIntervalMs);
  }
  schedule();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
