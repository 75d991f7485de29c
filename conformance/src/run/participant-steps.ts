import { randomUUID } from "node:crypto";
import { create, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { jetstream } from "@nats-io/jetstream";
import { joinSession, type SessionError } from "@pnm/client";
import { createNodeHttp2Client } from "@pnm/client/node";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import {
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import type { AnswerExpectation, DeliveryExpectation, ParticipantStep } from "../cases/case-types.js";
import { StepError } from "../errors.js";
import type { LiveKitCredentials } from "../livekit.js";
import { operations } from "../operations.js";
import type { Profile, Transport } from "../profiles.js";
import { decodeCompact } from "../tokens/jwt.js";
import type { Wire } from "../wire/wire.js";
import { checkOutcome } from "./check-outcome.js";
import type { NatsTarget } from "./nats-target.js";
import {
  closeParticipant,
  closesWithin,
  connectRaw,
  type Participant,
  publishChecked,
  type RawParticipant,
  type RecordedMessage,
  type SessionParticipant,
  sleep,
  subscribeRecorded,
} from "./participants.js";
import { resolveToken } from "./resolve-token.js";
import { answerShape, checkAnswer, decodeServerEnvelope, describeAnswer, eventName } from "./server-answers.js";
import type { Scope } from "./variables.js";

/** What a participant step works with: the NATS plane, the case's variables and participants, and the call path. */
export interface ParticipantStepContext {
  /** Where participants connect, and the subject roots. */
  nats: NatsTarget;
  /** The server's LiveKit credentials, when the run knows them, to verify media tokens. */
  liveKit?: LiveKitCredentials;
  /** The case's variables. */
  scope: Scope;
  /** Re-signs tokens the step derives from issued ones. */
  apiSecret: string;
  /** The server's URL, for participants' RPCs (VerifyToken). */
  baseUrl: string;
  /** The case's transport: the protocol of the steps' own calls and of sessions' RPCs. */
  transport: Transport;
  /** Makes the API calls a step needs (GetJoinToken for connect-many). */
  wire: Wire;
  /** The run's profile, for checking those calls. */
  profile: Profile;
  /** The case's participants by name; the runner closes them when the case ends. */
  participants: Map<string, Participant>;
}

/** Carries out one participant step; returns what differs from its expectation. */
export async function runParticipantStep(step: ParticipantStep, ctx: ParticipantStepContext): Promise<string[]> {
  switch (step.kind) {
    case "connect":
      return connect(step, ctx);
    case "connect-many":
      return connectMany(step, ctx);
    case "close": {
      const participant = existing(ctx, step.participant);
      ctx.participants.delete(step.participant);
      await closeParticipant(participant);
      return [];
    }
    case "leave": {
      const participant = session(ctx, step.participant);
      ctx.participants.delete(step.participant);
      await closeParticipant(participant);
      return [];
    }
    case "connection":
      return connection(step, ctx);
    case "subscribe":
      return subscribe(step, ctx);
    case "publish":
      return publish(step, ctx);
    case "received":
      return received(step, ctx);
    case "request":
      return request(step, ctx);
    case "join-session":
      return join(step, ctx);
    case "send-chat":
      await session(ctx, step.participant).session.sendChat(text(ctx, step.text));
      return [];
    case "consume":
      return consume(step, ctx);
  }
}

/** The `received` subject that names a participant's consumer deliveries instead of a subscription. */
const consumerDeliveries = "$consumer";

async function consume(
  step: Extract<ParticipantStep, { kind: "consume" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = raw(ctx, step.participant);
  const { roomId, userId } = participant;
  if (!roomId || !userId)
    throw new StepError(`${step.participant}'s token names no room_id and sub, so its consumer is unknown`);
  if (!ctx.nats.roomStream) return ["VerifyToken names no room_stream_name to read a consumer from"];
  if (participant.consumer) throw new StepError(`${step.participant} reads its consumer already`);
  const name = `${roomId}_${userId}`;
  const deliveries: RecordedMessage[] = [];
  try {
    const consumer = await jetstream(participant.nc).consumers.get(ctx.nats.roomStream, name);
    await consumer.consume({
      callback: (m) => {
        deliveries.push({ subject: m.subject, data: m.data.slice() });
        m.ack();
      },
    });
  } catch (err) {
    return step.expect === "refused"
      ? []
      : [`cannot read consumer ${name} of ${ctx.nats.roomStream}: ${(err as Error).name}: ${(err as Error).message}`];
  }
  participant.consumer = deliveries;
  return step.expect === "accepted"
    ? []
    : [`expected consumer ${name} of ${ctx.nats.roomStream} to be refused to ${step.participant}, but it was read`];
}

async function connect(
  step: Extract<ParticipantStep, { kind: "connect" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  fresh(ctx, step.participant);
  const token = resolveToken(step.token, ctx.scope, ctx.apiSecret).value;
  if (token === undefined) throw new StepError("connect needs a token");
  const claims = decodeCompact(token)?.claims;
  const result = await connectRaw(ctx.nats, token, {
    name: step.participant,
    inboxPrefix: step.inboxPrefix === undefined ? undefined : text(ctx, step.inboxPrefix),
    roomId: typeof claims?.room_id === "string" ? claims.room_id : undefined,
    userId: typeof claims?.sub === "string" ? claims.sub : undefined,
  });
  if ("admitted" in result) {
    ctx.participants.set(step.participant, result.admitted);
    return step.expect === "admitted"
      ? []
      : [`expected NATS to refuse ${step.participant}'s connection, but it was admitted`];
  }
  return step.expect === "refused"
    ? []
    : [`expected NATS to admit ${step.participant}, but it refused the connection: ${result.refused}`];
}

async function connectMany(
  step: Extract<ParticipantStep, { kind: "connect-many" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const roomId = text(ctx, step.room);
  const names = Array.from({ length: step.count }, (_, i) => `${step.prefix}${i + 1}`);
  for (const name of names) fresh(ctx, name);
  const op = operations.get("RoomService.GetJoinToken")!;
  const tokens: string[] = [];
  for (const name of names) {
    const outcome = await ctx.wire.call(ctx.transport, op, {
      json: { room_id: roomId, user_info: { name, user_id: name } },
      auth: {},
    });
    const problems = checkOutcome(
      op,
      { outcome: { ok: true }, violations: [], messageContains: [] },
      outcome,
      ctx.profile,
    );
    if (problems.length > 0) return [`GetJoinToken for ${name}: ${problems.join("; ")}`];
    tokens.push(String(outcome.body!.token));
  }
  // All at once: the server must not admit more than the room's limit however the connects interleave.
  const results = await Promise.all(
    names.map((name, i) => connectRaw(ctx.nats, tokens[i]!, { name, roomId, userId: name })),
  );
  const admitted: string[] = [];
  results.forEach((result, i) => {
    if ("admitted" in result) {
      ctx.participants.set(names[i]!, result.admitted);
      admitted.push(names[i]!);
    }
  });
  return admitted.length === step.admitted
    ? []
    : [
        `expected exactly ${step.admitted} of ${step.count} simultaneous connects admitted, got ${admitted.length} (${admitted.join(", ") || "none"})`,
      ];
}

async function connection(
  step: Extract<ParticipantStep, { kind: "connection" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = existing(ctx, step.participant);
  const what = participant.kind === "raw" ? "connection" : "session";
  if (step.expect === "open") {
    await sleep(step.withinMs);
    const closed = participant.kind === "raw" ? participant.closed : participant.ended !== undefined;
    return closed
      ? [
          `expected ${step.participant}'s ${what} to stay open for ${step.withinMs} ms, but it ended${endedBy(participant)}`,
        ]
      : [];
  }
  if (!(await closesWithin(participant, step.withinMs)))
    return [`expected ${step.participant}'s ${what} to be closed within ${step.withinMs} ms, but it is still open`];
  if (step.reason === undefined) return [];
  if (participant.kind === "raw")
    throw new StepError("reason applies to sessions; read a raw connection's SESSION_ENDED with `received`");
  const reason = FailureReason[participant.ended!.reason];
  return reason === step.reason
    ? []
    : [`expected the session to end with ${step.reason}, got ${reason} (${participant.ended!.name})`];
}

async function subscribe(
  step: Extract<ParticipantStep, { kind: "subscribe" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = raw(ctx, step.participant);
  const subject = text(ctx, step.subject);
  if (participant.subscriptions.has(subject))
    throw new StepError(`${step.participant} has subscribed to ${subject} already`);
  const recorded = await subscribeRecorded(participant, subject);
  participant.subscriptions.set(subject, recorded);
  if (step.expect === "refused" && recorded.refused === undefined)
    return [`expected the server to refuse ${step.participant}'s subscription to ${subject}, but it was accepted`];
  if (step.expect === "accepted" && recorded.refused !== undefined)
    return [
      `expected ${step.participant} to be allowed to subscribe to ${subject}, but the server refused: ${recorded.refused}`,
    ];
  return [];
}

async function publish(
  step: Extract<ParticipantStep, { kind: "publish" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = raw(ctx, step.participant);
  const subject = text(ctx, step.subject);
  const payload =
    typeof step.payload === "string"
      ? text(ctx, step.payload)
      : toBinary(
          NatsMsgClientToServerSchema,
          create(NatsMsgClientToServerSchema, {
            id: randomUUID(),
            event: step.payload.event,
            msg: text(ctx, step.payload.msg),
          }),
        );
  const refused = await publishChecked(
    participant,
    subject,
    payload,
    step.reply === undefined ? undefined : text(ctx, step.reply),
  );
  if (step.expect === "refused" && refused === undefined)
    return [`expected the server to refuse ${step.participant}'s publish on ${subject}, but it was accepted`];
  if (step.expect === "accepted" && refused !== undefined)
    return [`expected ${step.participant} to be allowed to publish on ${subject}, but the server refused: ${refused}`];
  return [];
}

async function received(
  step: Extract<ParticipantStep, { kind: "received" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = existing(ctx, step.participant);
  const expect = resolveDelivery(ctx, step.expect);
  let inbox: () => { texts: Uint8Array[]; messages: NatsMsgServerToClient[]; errors: Error[] };
  let where: string;
  if (participant.kind === "raw") {
    if (step.subject === undefined)
      throw new StepError(`received: name the subscription of ${step.participant} with subject`);
    const subject = text(ctx, step.subject);
    const recorded =
      subject === consumerDeliveries
        ? participant.consumer && { messages: participant.consumer }
        : participant.subscriptions.get(subject);
    if (!recorded) throw new StepError(`${step.participant} has no subscription to ${subject} (consume first)`);
    where = ` on ${subject}`;
    inbox = () => ({
      texts: recorded.messages.map((m) => m.data),
      messages: recorded.messages.map((m) => decodeServerEnvelope(m.data)).filter((m) => m !== undefined),
      errors: [],
    });
  } else {
    if (step.subject !== undefined) throw new StepError("a session receives chat only; leave subject out");
    if (expect.envelope) throw new StepError("envelope applies to raw connections");
    where = " (chat)";
    inbox = () => ({
      texts: participant.chats.map((t) => new TextEncoder().encode(t)),
      messages: [],
      errors: participant.errors,
    });
  }
  if (expect.decryptionError && participant.kind === "raw") throw new StepError("decryption_error applies to sessions");

  const negative = expect.nothing || expect.notContains.length > 0;
  const deadline = Date.now() + step.withinMs;
  let problems = await evaluate(inbox(), expect, ctx);
  while (Date.now() < deadline && (negative || problems.length > 0)) {
    await sleep(20);
    problems = await evaluate(inbox(), expect, ctx);
  }
  return problems.map((p) => `${step.participant}${where}, within ${step.withinMs} ms: ${p}`);
}

async function evaluate(
  got: { texts: Uint8Array[]; messages: NatsMsgServerToClient[]; errors: Error[] },
  expect: DeliveryExpectation,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const problems: string[] = [];
  const has = (needle: string) => got.texts.some((t) => Buffer.from(t).includes(Buffer.from(needle)));
  for (const needle of expect.contains)
    if (!has(needle))
      problems.push(`nothing received contains ${JSON.stringify(needle)} (${got.texts.length} messages)`);
  for (const needle of expect.notContains)
    if (has(needle)) problems.push(`a message received contains ${JSON.stringify(needle)}`);
  if (expect.nothing && got.texts.length > 0)
    problems.push(`expected nothing, received ${got.texts.length} messages, the first ${preview(got.texts[0]!)}`);
  if (expect.atLeast !== undefined && got.texts.length < expect.atLeast)
    problems.push(`expected at least ${expect.atLeast} messages, received ${got.texts.length}`);
  if (expect.decryptionError && !got.errors.some((e) => e.name === "DecryptionError")) {
    problems.push(
      `expected a DecryptionError, got ${got.errors.length ? got.errors.map((e) => e.name).join(", ") : "no error"}`,
    );
  }
  if (expect.envelope) {
    const wanted = expect.envelope;
    const candidates = got.messages.filter((m) => m.event === wanted.event);
    if (candidates.length === 0) {
      problems.push(
        `no ${eventName(wanted.event)} among ${got.messages.length} server messages${got.messages.length ? ` (${got.messages.map(describeAnswer).join("; ")})` : ""}`,
      );
    } else {
      const checks = await Promise.all(candidates.map((m) => checkAnswer(m, wanted, { liveKit: ctx.liveKit })));
      if (!checks.some((c) => c.length === 0)) problems.push(...checks[0]!);
    }
  }
  return problems;
}

async function request(
  step: Extract<ParticipantStep, { kind: "request" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  const participant = raw(ctx, step.participant);
  const { roomId, userId } = participant;
  if (!roomId || !userId)
    throw new StepError(`${step.participant}'s token names no room_id and sub, so its subjects are unknown`);
  const subjects = ctx.nats.subjects;
  const privateSubject = `${subjects.sys_private}.${roomId}.${userId}.>`;
  const workerSubject = `${step.worker === "js" ? subjects.sys_js_worker : subjects.sys_core_worker}.${roomId}.${userId}`;
  const expect = resolveAnswer(ctx, step.expect);
  if (step.throughConsumer) return requestThroughConsumer(step, ctx, participant, expect);
  const answers = await subscribeRecorded(participant, privateSubject);
  try {
    if (answers.refused !== undefined)
      return [`cannot read answers: the server refused the subscription to ${privateSubject}: ${answers.refused}`];
    const id = randomUUID();
    const msg = step.msg === undefined ? "" : (resolveToken(step.msg, ctx.scope, ctx.apiSecret).value ?? "");
    const envelope = toBinary(
      NatsMsgClientToServerSchema,
      create(NatsMsgClientToServerSchema, { id, event: step.event, msg }),
    );
    const refused = await publishChecked(participant, workerSubject, envelope);
    if (refused !== undefined)
      return [
        `the server refused the request on ${step.participant}'s own worker subject ${workerSubject}: ${refused}`,
      ];

    const label = `${NatsMsgClientToServerEvent[step.event]} on ${workerSubject}`;
    const deadline = Date.now() + step.withinMs;
    let answer: NatsMsgServerToClient | undefined;
    while (!answer && Date.now() < deadline) {
      answer = answers.messages.map((m) => decodeServerEnvelope(m.data)).find((m) => m?.event === expect.event);
      if (!answer) await sleep(10);
    }
    if (expect.none)
      return answer
        ? [`${label}: expected no ${eventName(expect.event)} within ${step.withinMs} ms, got ${describeAnswer(answer)}`]
        : [];
    if (!answer) {
      const others = answers.messages.map((m) => decodeServerEnvelope(m.data)).filter((m) => m !== undefined);
      return [
        `${label}: no ${eventName(expect.event)} on ${privateSubject} within ${step.withinMs} ms${others.length ? ` (got ${others.map(describeAnswer).join("; ")})` : ""}`,
      ];
    }
    const problems = await checkAnswer(answer, expect, { requestId: id, liveKit: ctx.liveKit });
    if (problems.length > 0) return problems.map((p) => `${label}: ${p}`);
    save(step.save, answerShape(answer) as unknown as JsonObject, ctx);
    return [];
  } finally {
    answers.subscription.unsubscribe();
  }
}

/** A request as upstream's web client sends it: a JetStream publish, whose answer arrives through the consumer. */
async function requestThroughConsumer(
  step: Extract<ParticipantStep, { kind: "request" }>,
  ctx: ParticipantStepContext,
  participant: RawParticipant,
  expect: AnswerExpectation,
): Promise<string[]> {
  const deliveries = participant.consumer;
  if (!deliveries) throw new StepError(`${step.participant} reads no consumer: consume first`);
  const workerSubject = `${ctx.nats.subjects.sys_js_worker}.${participant.roomId}.${participant.userId}`;
  const label = `${NatsMsgClientToServerEvent[step.event]} on ${workerSubject} with JetStream`;
  const id = randomUUID();
  const msg = step.msg === undefined ? "" : (resolveToken(step.msg, ctx.scope, ctx.apiSecret).value ?? "");
  const envelope = toBinary(
    NatsMsgClientToServerSchema,
    create(NatsMsgClientToServerSchema, { id, event: step.event, msg }),
  );
  const seen = deliveries.length;
  try {
    await jetstream(participant.nc).publish(workerSubject, envelope, { timeout: step.withinMs });
  } catch (err) {
    return [`${label}: no acknowledgement from the work queue: ${(err as Error).name}: ${(err as Error).message}`];
  }
  const deadline = Date.now() + step.withinMs;
  const answers = () =>
    deliveries
      .slice(seen)
      .map((m) => decodeServerEnvelope(m.data))
      .filter((m) => m !== undefined);
  let answer: NatsMsgServerToClient | undefined;
  while (!answer && Date.now() < deadline) {
    answer = answers().find((m) => m.event === expect.event);
    if (!answer) await sleep(10);
  }
  if (expect.none)
    return answer
      ? [`${label}: expected no ${eventName(expect.event)} within ${step.withinMs} ms, got ${describeAnswer(answer)}`]
      : [];
  if (!answer) {
    const others = answers();
    return [
      `${label}: no ${eventName(expect.event)} through the consumer within ${step.withinMs} ms${others.length ? ` (got ${others.map(describeAnswer).join("; ")})` : ""}`,
    ];
  }
  const problems = await checkAnswer(answer, expect, { requestId: id, liveKit: ctx.liveKit });
  if (problems.length > 0) return problems.map((p) => `${label}: ${p}`);
  save(step.save, answerShape(answer) as unknown as JsonObject, ctx);
  return [];
}

async function join(
  step: Extract<ParticipantStep, { kind: "join-session" }>,
  ctx: ParticipantStepContext,
): Promise<string[]> {
  fresh(ctx, step.participant);
  const token = resolveToken(step.token, ctx.scope, ctx.apiSecret).value;
  if (token === undefined) throw new StepError("join_session needs a token");
  const passphrase = step.passphrase === undefined ? undefined : text(ctx, step.passphrase);
  const http2 = ctx.transport === "grpc" ? createNodeHttp2Client(ctx.baseUrl) : undefined;
  const protocol = ctx.transport === "grpc" ? "grpc" : ctx.transport === "grpc-web" ? "grpc-web" : "connect";
  const chats: string[] = [];
  const errors: Error[] = [];
  let participant: SessionParticipant;
  try {
    const session = await joinSession({
      baseUrl: ctx.baseUrl,
      token,
      protocol,
      useBinaryFormat: ctx.transport !== "connect-json",
      httpClient: http2?.httpClient,
      webSocket: ctx.nats.webSocket,
      promptForKey: passphrase === undefined ? undefined : async () => passphrase,
    });
    participant = { kind: "session", session, chats, errors, release: () => http2?.close() };
    session.on("chat", (m) => void chats.push(m.message));
    session.on("error", (e) => void errors.push(e));
    session.on("ended", (e) => {
      participant.ended = e;
    });
  } catch (err) {
    http2?.close();
    const reason = (err as Partial<SessionError>).reason;
    const name = typeof reason === "number" ? FailureReason[reason] : undefined;
    if ("refused" in step.expect) {
      return name === step.expect.refused
        ? []
        : [`expected joining to be refused with ${step.expect.refused}, got ${describeJoinError(err)}`];
    }
    return [`expected ${step.participant} to join, got ${describeJoinError(err)}`];
  }
  ctx.participants.set(step.participant, participant);
  return "refused" in step.expect
    ? [`expected joining to be refused with ${step.expect.refused}, but ${step.participant} joined`]
    : [];
}

function describeJoinError(err: unknown): string {
  const error = err as Error & { reason?: number };
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.name}${typeof error.reason === "number" ? ` ${FailureReason[error.reason]}` : ""}: ${error.message}${cause}`;
}

function endedBy(participant: Participant): string {
  return participant.kind === "session" && participant.ended
    ? ` (${participant.ended.name} ${FailureReason[participant.ended.reason]})`
    : "";
}

function save(paths: Record<string, string>, body: JsonObject, ctx: ParticipantStepContext): void {
  for (const [name, path] of Object.entries(paths)) {
    let value: JsonValue | undefined = body;
    for (const key of path.split("."))
      value = value !== null && typeof value === "object" && !Array.isArray(value) ? value[key] : undefined;
    if (value === undefined || value === null || value === "")
      throw new StepError(`cannot save ${name}: the answer has no ${path}`);
    ctx.scope.set(name, value);
  }
}

function resolveDelivery(ctx: ParticipantStepContext, expect: DeliveryExpectation): DeliveryExpectation {
  return {
    ...expect,
    contains: expect.contains.map((t) => text(ctx, t)),
    notContains: expect.notContains.map((t) => text(ctx, t)),
    envelope: expect.envelope && resolveAnswer(ctx, expect.envelope),
  };
}

function resolveAnswer(ctx: ParticipantStepContext, expect: AnswerExpectation): AnswerExpectation {
  const resolve = <T extends JsonValue | undefined>(v: T): T => (v === undefined ? v : (ctx.scope.resolve(v) as T));
  return {
    ...expect,
    msg: resolve(expect.msg),
    initialData: resolve(expect.initialData),
    media: resolve(expect.media),
  };
}

function text(ctx: ParticipantStepContext, value: string): string {
  return String(ctx.scope.resolve(value));
}

function existing(ctx: ParticipantStepContext, name: string): Participant {
  const participant = ctx.participants.get(name);
  if (!participant) throw new StepError(`there is no participant ${name} (connect or join it first)`);
  return participant;
}

function raw(ctx: ParticipantStepContext, name: string): RawParticipant {
  const participant = existing(ctx, name);
  if (participant.kind !== "raw") throw new StepError(`${name} is a session; this step needs a raw connection`);
  return participant;
}

function session(ctx: ParticipantStepContext, name: string): SessionParticipant {
  const participant = existing(ctx, name);
  if (participant.kind !== "session") throw new StepError(`${name} is a raw connection; this step needs a session`);
  return participant;
}

function fresh(ctx: ParticipantStepContext, name: string): void {
  if (ctx.participants.has(name))
    throw new StepError(`participant ${name} exists already; close it first or pick another name`);
}

function preview(bytes: Uint8Array): string {
  const textual = Buffer.from(bytes).toString("utf8");
  const shown = /^[\x20-\x7e]*$/.test(textual) ? JSON.stringify(textual) : `${bytes.length} bytes`;
  return shown.length > 80 ? `${shown.slice(0, 77)}..."` : shown;
}
