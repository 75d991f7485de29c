import { performance } from "node:perf_hooks";
import { nodeWebSocket } from "@pnm/client/node";
import { connectNats, connectParticipant, type NatsConnection } from "@pnm/client/protocol";

export interface Participant {
  roomId: string;
  userId: string;
  token: string;
}

export interface ConnectJob {
  wsUrl: string;
  /** Connect as these participants, through the auth callout; absent: connect without credentials. */
  participants?: Participant[];
  /** Connects kept in flight at once; 1 is sequential. */
  inFlight: number;
  seconds: number;
  count: number;
}

export interface ConnectReport {
  /** Start of each connect to its CONNECT being accepted (the connect resolves on the first PONG). */
  latenciesMs: number[];
  /** From the first connect started to the last one settled. */
  elapsedMs: number;
  failures: number;
  firstError?: string;
  /** CPU this process spent during the job, in ms. */
  cpuMs: number;
}

function open(wsUrl: string, participant: Participant | undefined): Promise<NatsConnection> {
  if (participant) {
    return connectParticipant({
      servers: [wsUrl],
      token: () => participant.token,
      webSocket: nodeWebSocket,
      name: `${participant.roomId}/${participant.userId}`,
    });
  }
  // The same WebSocket client as connectParticipant, minus the token.
  return connectNats({ servers: [wsUrl], webSocket: nodeWebSocket, name: "bench-plain" });
}

/**
 * Opens connections, `inFlight` connects at a time, until `seconds` or
 * `count` runs out, closing each as soon as it is up. A participant is never
 * connecting twice at once: a second connect of the same user would evict the
 * first and measure the kick instead.
 */
export async function runConnects(job: ConnectJob): Promise<ConnectReport> {
  const idle: (Participant | undefined)[] = job.participants
    ? [...job.participants]
    : Array.from({ length: job.inFlight }, () => undefined);
  if (idle.length < job.inFlight) throw new Error(`${job.inFlight} connects in flight need as many participants`);
  const latenciesMs: number[] = [];
  const closing: Promise<void>[] = [];
  let failures = 0;
  let firstError: string | undefined;
  let started = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + job.seconds * 1000;

  async function slot(): Promise<void> {
    while (started < job.count && performance.now() < deadline) {
      started++;
      const participant = idle.shift();
      const begin = performance.now();
      try {
        const nc = await open(job.wsUrl, participant);
        latenciesMs.push(performance.now() - begin);
        // Not awaited: the slot's next connect starts at once, so exactly `inFlight` connects are pending.
        closing.push(nc.close());
      } catch (error) {
        failures++;
        firstError ??= String(error);
      }
      idle.push(participant);
    }
  }

  await Promise.all(Array.from({ length: job.inFlight }, slot));
  const elapsedMs = performance.now() - start;
  await Promise.allSettled(closing);
  const cpu = process.cpuUsage(cpuBefore);
  return { latenciesMs, elapsedMs, failures, firstError, cpuMs: (cpu.user + cpu.system) / 1000 };
}
