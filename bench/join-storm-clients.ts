// The participants of bench/join-storm.ts, run in a child process of it (or in process with --clients-in-process).
import { performance } from "node:perf_hooks";
import { create, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import { failureReason } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import {
  connectParticipant,
  createParticipantClient,
  NatsAuthorizationError,
  type NatsConnection,
} from "@pnm/client/protocol";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  NatsInitialDataSchema,
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";

export interface JoinStormJob {
  /** The pnm server's base URL (VerifyToken). */
  baseUrls: string[];
  /** One join token per participant, in the order they join; participant i uses baseUrls[i % baseUrls.length]. */
  tokens: string[];
  /** Joins in flight at once. */
  concurrency: number;
  /** Refusals for a full room are expected (the room has a limit): counted apart from errors. */
  limited: boolean;
}

export interface JoinStormReport {
  /** VerifyToken started to RES_INITIAL_DATA received, of each join that got its initial data. */
  latenciesMs: number[];
  /** From the first join started to the last one settled. */
  elapsedMs: number;
  /** Failed joins by kind. */
  errors: Record<string, number>;
  /** Refusals for a full room in a room with a limit, by where the join was refused. */
  refusals: Record<string, number>;
  firstError?: string;
  /** CPU this process spent during the storm, in ms. */
  cpuMs: number;
}

const initialDataTimeoutMs = 10_000;

/** Where a join failed, as an error kind: the step, and the FailureReason when the server named one. */
class JoinFailure extends Error {
  constructor(
    readonly kind: string,
    readonly roomFull: boolean,
    cause: unknown,
  ) {
    super(`${kind}: ${String(cause)}`, { cause });
  }
}

/** The initial data over the user's worker subject, answered on its private subject, as `joinSession` asks for it. */
async function requestInitialData(
  nc: NatsConnection,
  subjects: { systemPrivate: string; systemCoreWorker: string },
  roomId: string,
  userId: string,
): Promise<void> {
  let settle: (binMsg: Uint8Array | undefined, msg: string) => void = () => {};
  const answered = new Promise<{ binMsg: Uint8Array | undefined; msg: string }>((resolve) => {
    settle = (binMsg, msg) => resolve({ binMsg, msg });
  });
  const sub = nc.subscribe(`${subjects.systemPrivate}.${roomId}.${userId}.>`, (m) => {
    try {
      const message = fromBinary(NatsMsgServerToClientSchema, m.data);
      if (message.event === NatsMsgServerToClientEvent.RES_INITIAL_DATA) settle(message.binMsg, message.msg);
    } catch {
      // not a server message: ignored, as the session's server channel does
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await nc.flush();
    const envelope = create(NatsMsgClientToServerSchema, {
      id: crypto.randomUUID(),
      event: NatsMsgClientToServerEvent.REQ_INITIAL_DATA,
      msg: "",
    });
    nc.publish(`${subjects.systemCoreWorker}.${roomId}.${userId}`, toBinary(NatsMsgClientToServerSchema, envelope));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no RES_INITIAL_DATA within ${initialDataTimeoutMs} ms`)),
        initialDataTimeoutMs,
      );
    });
    const answer = await Promise.race([answered, timeout]);
    if (!answer.msg) {
      const reason = answer.binMsg?.length
        ? fromBinary(ErrorDetailSchema, answer.binMsg).reason
        : FailureReason.UNSPECIFIED;
      throw new JoinFailure(`initial data refused (${FailureReason[reason]})`, reason === FailureReason.ROOM_FULL, "");
    }
    const initialData = fromJsonString(NatsInitialDataSchema, answer.msg, { ignoreUnknownFields: true });
    if (initialData.localUser?.userId !== userId) throw new Error(`initial data for ${initialData.localUser?.userId}`);
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

/**
 * One participant's join with pnm's client pieces (`@pnm/client/protocol`):
 * VerifyToken over Connect, the NATS WebSocket connect through the auth
 * callout, and the initial data. This is `joinSession`'s flow for a room
 * without E2EE or a waiting room, minus its media-token request. The
 * connection stays open, so that the participant keeps its seat.
 */
async function join(baseUrl: string, token: string, limited: boolean): Promise<NatsConnection> {
  const verified = await createParticipantClient({ baseUrl, token: () => token })
    .verifyToken({ isProduction: true })
    .catch((err: unknown) => {
      const reason = failureReason(err);
      const name = reason === undefined ? networkCause(err) : FailureReason[reason];
      throw new JoinFailure(`VerifyToken refused (${name})`, reason === FailureReason.ROOM_FULL, err);
    });
  const roomId = verified.roomId!;
  const userId = verified.userId!;
  const nc = await connectParticipant({
    servers: verified.natsWsUrls,
    token: () => token,
    webSocket: nodeWebSocket,
    name: `${roomId}/${userId}`,
  }).catch((err: unknown) => {
    // The callout's refusal reaches the client as a bare authorization error; in a room with a limit, that is the room being full.
    if (err instanceof NatsAuthorizationError) throw new JoinFailure("NATS authorization refused", limited, err);
    throw new JoinFailure("NATS connect failed", false, err);
  });
  try {
    await requestInitialData(nc, verified.natsSubjects!, roomId, userId);
  } catch (err) {
    await nc.close();
    throw err instanceof JoinFailure ? err : new JoinFailure("initial data failed", false, err);
  }
  return nc;
}

/** A failure without a server's reason: the network error under fetch's "fetch failed" (ECONNRESET, ...). */
function networkCause(err: unknown): string {
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return `no reason, ${code}`;
    cause = cause.cause;
  }
  return "no reason";
}

const open: NatsConnection[] = [];

/** Runs the storm, `concurrency` joins at a time, and keeps every joined participant connected until `leaveAll`. */
export async function runJoinStorm(job: JoinStormJob): Promise<JoinStormReport> {
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  const refusals: Record<string, number> = {};
  let firstError: string | undefined;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  async function slot(): Promise<void> {
    while (next < job.tokens.length) {
      const i = next++;
      const begin = performance.now();
      try {
        open.push(await join(job.baseUrls[i % job.baseUrls.length], job.tokens[i], job.limited));
        latenciesMs.push(performance.now() - begin);
      } catch (err) {
        const failure = err instanceof JoinFailure ? err : new JoinFailure("unexpected", false, err);
        const counts = job.limited && failure.roomFull ? refusals : errors;
        counts[failure.kind] = (counts[failure.kind] ?? 0) + 1;
        if (counts === errors) firstError ??= failure.message;
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, slot));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  return { latenciesMs, elapsedMs, errors, refusals, firstError, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Closes every connection the storms opened. */
export async function leaveAll(): Promise<void> {
  await Promise.allSettled(open.splice(0).map((nc) => nc.close()));
}

export type JoinStormRequest = { job: JoinStormJob } | { leave: true };
