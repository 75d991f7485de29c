import type { JsonValue } from "@bufbuild/protobuf";
import type { CallStep, CaseDefinition } from "../cases/case-types.js";
import { describeError, StepError } from "../errors.js";
import type { LiveKitCredentials } from "../livekit.js";
import { operations } from "../operations.js";
import type { Profile, Transport } from "../profiles.js";
import type { JsonObject } from "../tokens/jwt.js";
import type { WireRequest } from "../wire/call-types.js";
import type { Wire } from "../wire/wire.js";
import { checkOutcome } from "./check-outcome.js";
import type { NatsTarget } from "./nats-target.js";
import { runParticipantStep } from "./participant-steps.js";
import { closeParticipant, type Participant } from "./participants.js";
import { resolveToken } from "./resolve-token.js";
import { createScope } from "./variables.js";

/** One case on one transport: what the runner schedules. */
export interface ExpandedCase {
  /** `<case name>/transport:<transport>` */
  name: string;
  /** The case as written. */
  definition: CaseDefinition;
  /** The transport this expansion runs over. */
  transport: Transport;
  /** Position in the run, part of the case's fresh room ids. */
  index: number;
}

/** What every case of a run shares: the server, its credentials and the run's identity. */
export interface CaseContext {
  /** Calls the server under test. */
  wire: Wire;
  /** The run's profile, which decides what answers are checked for. */
  profile: Profile;
  /** Random per run: part of every fresh room ID, so runs do not meet on one server. */
  runId: string;
  /** The server's URL. */
  baseUrl: string;
  /** Given to cases as the `api_key` variable. */
  apiKey: string;
  /** Signs calls and re-signs derived tokens. */
  apiSecret: string;
  /** The NATS plane, for cases that require it: where it is, or why the harness could not find it. */
  nats?: NatsTarget | { error: string };
  /** The server's LiveKit credentials, when the run knows them. */
  liveKit?: LiveKitCredentials;
}

/** Runs the steps in order and stops at the first that does not meet its expectation; returns why, or undefined when all did. */
export async function runCase(expanded: ExpandedCase, context: CaseContext): Promise<string | undefined> {
  const nats = context.nats;
  const needsNats = expanded.definition.requires.includes("nats");
  if (needsNats && (!nats || "error" in nats))
    return `the case needs the NATS plane: ${nats && "error" in nats ? nats.error : "not offered"}`;
  const scope = createScope({
    runId: context.runId,
    caseIndex: expanded.index,
    given: { api_key: context.apiKey, ...(needsNats ? natsVariables(nats as NatsTarget) : {}) },
    nowSeconds: () => Math.floor(Date.now() / 1000),
  });
  const participants = new Map<string, Participant>();
  try {
    for (const [i, step] of expanded.definition.steps.entries()) {
      const where = `step ${i + 1} (${step.kind === "call" ? step.call : stepLabel(step.kind)})`;
      try {
        const problems =
          step.kind === "call"
            ? await runCall(step, expanded, context, scope)
            : await runParticipantStep(step, {
                nats: nats as NatsTarget,
                liveKit: context.liveKit,
                scope,
                apiSecret: context.apiSecret,
                baseUrl: context.baseUrl,
                transport: expanded.transport,
                wire: context.wire,
                profile: context.profile,
                participants,
              });
        if (problems.length > 0) return `${where}: ${problems.join("; ")}`;
      } catch (err) {
        if (err instanceof StepError) return `${where}: case error: ${err.message}`;
        return `${where}: harness error: ${describeError(err)}`;
      }
    }
    return undefined;
  } finally {
    await Promise.all([...participants.values()].map(closeParticipant));
  }
}

const stepLabels: Record<string, string> = {
  "connect-many": "connect_many",
  "join-session": "join_session",
  "send-chat": "send_chat",
  request: "send",
};
function stepLabel(kind: string): string {
  return stepLabels[kind] ?? kind;
}

async function runCall(
  step: CallStep,
  expanded: ExpandedCase,
  context: CaseContext,
  scope: ReturnType<typeof createScope>,
): Promise<string[]> {
  const op = operations.get(step.call)!;
  const token = resolveToken(step.token, scope, context.apiSecret);
  const request: WireRequest = {
    json: scope.resolve(step.request) as JsonObject,
    rawJson: step.raw?.json === undefined ? undefined : String(scope.resolve(step.raw.json)),
    rawProto: step.raw?.protoHex === undefined ? undefined : Buffer.from(step.raw.protoHex, "hex"),
    auth:
      step.auth.header === undefined ? step.auth : { ...step.auth, header: String(scope.resolve(step.auth.header)) },
    token: token.value,
    tokenInQuery: token.inQuery,
  };
  const expect = { ...step.expect, fields: step.expect.fields && (scope.resolve(step.expect.fields) as JsonObject) };
  const outcome = await context.wire.call(expanded.transport, op, request);
  const problems = checkOutcome(op, expect, outcome, context.profile);
  if (problems.length === 0) save(step, outcome.body, scope.set);
  if (problems.length === 0 && step.saveHeader !== undefined) {
    if (outcome.sentSignature === undefined)
      throw new StepError(`cannot save ${step.saveHeader}: the request carried no PNM-SIGNATURE`);
    scope.set(step.saveHeader, outcome.sentSignature);
  }
  return problems;
}

function save(step: CallStep, body: JsonObject | undefined, set: (name: string, value: JsonValue) => void): void {
  for (const [name, path] of Object.entries(step.save)) {
    let value: JsonValue | undefined = body;
    for (const key of path.split(".")) {
      value = value !== null && typeof value === "object" && !Array.isArray(value) ? value[key] : undefined;
    }
    if (value === undefined || value === null) throw new StepError(`cannot save ${name}: the answer has no ${path}`);
    set(name, value);
  }
}

/** The case variables the NATS plane gives: the subject roots and, when VerifyToken names it, `room_stream`. */
function natsVariables(nats: NatsTarget): Record<string, string> {
  return { ...nats.subjects, ...(nats.roomStream ? { room_stream: nats.roomStream } : {}) };
}
