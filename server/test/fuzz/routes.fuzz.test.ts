// Property-based fuzzing of every route over every transport: upstream's REST
// routes, Connect (JSON and binary), gRPC-web and gRPC over h2c, signed and
// participant routes. Requests are random or mutated bodies, wrong content
// types, broken or oversized envelopes, compressed bodies and random
// protocol headers; the signed ones sometimes carry a valid signature over the
// fuzzed bytes, so the decoder and the validator are reached.
//
// For every request: an answer within the time limit, never a 5xx, every
// refusal names its reason (an ErrorDetail over RPC, pnm-failure-reason over
// REST, and never INTERNAL), and a refused request changes no state (no
// JetStream stream behind the room store or the room streams moves).
//
// The seed is fixed when CI is set and random otherwise; it is printed, and
// PNM_FUZZ_SEED=<seed> replays a run. Each property makes PNM_FUZZ_RUNS requests
// (default 500) or stops after PNM_FUZZ_TIME_LIMIT_MS (default 20 s).

import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { CommonResponseSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { ParticipantService } from "@pnm/protocol/pnm/v1/participant_service_pb";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { VerifyTokenResponseSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { envelope, type RawAnswer, type RawHttpClient, rawHttpClient, readRpcAnswer } from "../support/raw-http.js";
import { hmacHex } from "../support/rest.js";

const seed = process.env.PNM_FUZZ_SEED
  ? Number(process.env.PNM_FUZZ_SEED)
  : process.env.CI
    ? 0x706e6d
    : (Math.random() * 0x7fffffff) | 0;
const runs = Number(process.env.PNM_FUZZ_RUNS ?? 500);
/** Each property stops after this long even if its runs are not done (a slow or busy machine), and passes if none failed. */
const timeLimitMs = Number(process.env.PNM_FUZZ_TIME_LIMIT_MS ?? 20_000);
/** No request may take longer to be answered. */
const answerWithinMs = 5_000;
/** Small, so oversized bodies are cheap to send. */
const maxBodyBytes = 4096;

const deployment = useTestDeployment((nats) => testConfig(nats, { maxBodyBytes }));
let client: RawHttpClient;
let jsm: JetStreamManager;
let token: string;

beforeAll(async () => {
  console.log(
    `fuzz seed ${seed}, ${runs} runs per property; replay with PNM_FUZZ_SEED=${seed} npx vitest run server/test/fuzz`,
  );
  client = rawHttpClient(deployment.pnm.server.url);
  jsm = await jetstreamManager(deployment.pnm.nc);
  for (const roomId of ["fuzz-room", "fuzz-spare"])
    await deployment.rooms.createRoom({ roomId, metadata: { roomTitle: "Fuzz", roomFeatures: {} } });
  token = (await deployment.rooms.getJoinToken({ roomId: "fuzz-room", userInfo: { name: "Fay", userId: "fay" } }))
    .token!;
});
afterAll(() => client?.close());

// Routes and valid requests.

interface Method {
  name: string;
  rpcPath: string;
  restPath: string;
  schema: DescMessage;
  signed: boolean;
  /** A valid request, for the mutations to start from. */
  valid: MessageInitShape<DescMessage>;
}

const roomIds = ["fuzz-room", "fuzz-spare", "fuzz-absent"];

/** Values of a valid request, by field: each method's valid request takes those of its fields. */
const validFields: Record<string, unknown> = {
  roomId: "fuzz-room",
  userId: "gus",
  msg: "bye",
  isProduction: true,
  metadata: { roomTitle: "Fuzz", roomFeatures: { allowWebcams: true } },
  userInfo: { name: "Gus", userId: "gus", isAdmin: false },
};

/** Upstream's REST path of a RoomService method: /auth/room/ and the method's name in lowerCamel case, but `create` for CreateRoom. */
const restPath = (name: string) =>
  `/auth/room/${name === "CreateRoom" ? "create" : name[0]!.toLowerCase() + name.slice(1)}`;

// Every method of both services, as the contract declares them.
const methods: Method[] = [RoomService, ParticipantService].flatMap((service) =>
  service.methods.map((m) => ({
    name: m.name,
    rpcPath: `/${service.typeName}/${m.name}`,
    restPath: service === ParticipantService ? `/api/${m.localName}` : restPath(m.name),
    schema: m.input,
    signed: service === RoomService,
    valid: Object.fromEntries(
      m.input.fields.filter((f) => f.localName in validFields).map((f) => [f.localName, validFields[f.localName]]),
    ),
  })),
);

type Transport = "rest" | "connect-json" | "connect-proto" | "grpc-web" | "grpc";

interface Target {
  method: Method;
  transport: Transport;
  path: string;
  contentType: string;
  /** `envelope`: one gRPC / gRPC-web message envelope; `body`: the body is the message. */
  framing: "body" | "envelope";
  json: boolean;
}

function target(method: Method, transport: Transport): Target {
  if (transport === "rest") {
    const json = method.signed;
    return {
      method,
      transport,
      path: method.restPath,
      contentType: json ? "application/json" : "application/protobuf",
      framing: "body",
      json,
    };
  }
  const forms = {
    "connect-json": ["application/json", "body", true],
    "connect-proto": ["application/proto", "body", false],
    "grpc-web": ["application/grpc-web+proto", "envelope", false],
    grpc: ["application/grpc", "envelope", false],
  } as const;
  const [contentType, framing, json] = forms[transport];
  return { method, transport, path: method.rpcPath, contentType, framing, json };
}

/** Methods that end what they name: they leave fuzz-room (whose participant token VerifyToken sends) alone. */
const destructive = new Set(["EndRoom", "RemoveParticipant", "DenyParticipant"]);

function validMessage(t: Target, roomId: string): Uint8Array {
  if (destructive.has(t.method.name) && roomId === "fuzz-room") roomId = "fuzz-spare";
  const message = create(t.method.schema, { ...t.method.valid, ...("roomId" in t.method.valid ? { roomId } : {}) });
  return t.json ? Buffer.from(toJsonString(t.method.schema, message)) : toBinary(t.method.schema, message);
}

// Arbitraries.

type Mutation = (bytes: Uint8Array) => Uint8Array;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(
    ([at, bit]): Mutation =>
      (b) =>
        b.length ? set(b, at % b.length, b[at % b.length]! ^ (1 << bit)) : b,
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([at, value]): Mutation =>
      (b) =>
        b.length ? set(b, at % b.length, value) : b,
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(
    ([at, inserted]): Mutation =>
      (b) =>
        splice(b, at % (b.length + 1), 0, inserted),
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 })).map(
    ([at, count]): Mutation =>
      (b) =>
        splice(b, at % (b.length + 1), count, new Uint8Array(0)),
  ),
  fc.nat().map(
    (at): Mutation =>
      (b) =>
        b.subarray(0, at % (b.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([from, to]): Mutation =>
      (b) =>
        Buffer.concat([b, b.subarray(Math.min(from, to) % (b.length + 1), Math.max(from, to) % (b.length + 1))]),
  ),
);

/** A JSON body that is valid JSON but not necessarily the message: random values, in place of the whole or of one field. */
const jsonMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.jsonValue().map(
    (value): Mutation =>
      () =>
        Buffer.from(JSON.stringify(value)),
  ),
  fc
    .tuple(
      fc.constantFrom(
        "roomId",
        "room_id",
        "metadata",
        "userInfo",
        "user_info",
        "userId",
        "isProduction",
        "maxParticipants",
        "unknown",
      ),
      fc.jsonValue(),
    )
    .map(
      ([key, value]): Mutation =>
        (b) => {
          try {
            return Buffer.from(
              JSON.stringify({ ...(JSON.parse(Buffer.from(b).toString("utf8")) as object), [key]: value }),
            );
          } catch {
            return b;
          }
        },
    ),
);

type Coding = "gzip" | "br" | "deflate";
const compress: Record<Coding, (bytes: Uint8Array) => Uint8Array> = {
  gzip: gzipSync,
  br: brotliCompressSync,
  deflate: deflateSync,
};

/** How the message bytes are turned into a body: kept, replaced, mutated, padded past the limit. */
const messageArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "valid" as const }) },
  {
    weight: 4,
    arbitrary: fc
      .array(mutation, { minLength: 1, maxLength: 4 })
      .map((mutations) => ({ kind: "mutated" as const, mutations })),
  },
  { weight: 2, arbitrary: jsonMutation.map((m) => ({ kind: "mutated" as const, mutations: [m] })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ kind: "random" as const, bytes })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 2 * maxBodyBytes }).map((extra) => ({ kind: "oversized" as const, extra })),
  },
);

/** For gRPC and gRPC-web: how the message is put in envelopes. */
const framingArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: "envelope" as const, flags: 0, lengthDelta: 0 }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("envelope" as const),
      flags: fc.oneof(fc.constantFrom(1, 0x80, 0x81, 2), fc.integer({ min: 0, max: 255 })),
      lengthDelta: fc.constant(0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("envelope" as const),
      flags: fc.constant(0),
      lengthDelta: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constant(0xffffffff)),
    }),
  },
  { weight: 1, arbitrary: fc.nat().map((cut) => ({ kind: "truncated" as const, cut })) },
  { weight: 1, arbitrary: fc.constant({ kind: "twice" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "bare" as const }) },
);

const compressionArb = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.record({
      coding: fc.constantFrom<Coding>("gzip", "br", "deflate"),
      /** Whether the headers say so: Content-Encoding, or grpc-encoding with the envelope's flag. */
      announced: fc.boolean(),
    }),
  },
);

const wrongContentTypes = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/connect+json",
  "application/connect+proto",
  "application/grpc-web-text",
  "application/grpc+thrift",
  "application/json; charset=latin1",
  "application/protobuf",
  "application/proto",
  "application/json",
  "application/grpc",
  "application/grpc-web+json",
  "",
];
const contentTypeArb = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...wrongContentTypes), printable(40)) },
);

/** Header values as HTTP allows them (visible ASCII, no surrounding space). */
function printable(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ maxLength }).map((s) => s.trim());
}

const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constantFrom("content-encoding", "grpc-encoding"),
    fc.oneof(fc.constantFrom("gzip", "br", "deflate", "identity", "zstd", "gzip, br", "*", "GZIP"), printable(20)),
  ),
  fc.tuple(
    fc.constantFrom("accept-encoding", "grpc-accept-encoding", "connect-accept-encoding", "connect-content-encoding"),
    fc.oneof(fc.constantFrom("gzip", "br", "identity", "gzip,br"), printable(20)),
  ),
  fc.tuple(
    fc.constant("connect-timeout-ms"),
    fc.oneof(fc.constantFrom("1", "5000", "0", "-1", "12345678901", "1S"), printable(12)),
  ),
  fc.tuple(
    fc.constant("grpc-timeout"),
    fc.oneof(fc.constantFrom("5S", "1m", "100u", "99999999H", "1", "S", "123456789S"), printable(12)),
  ),
  fc.tuple(
    fc.constantFrom("connect-protocol-version", "x-grpc-web", "x-user-agent", "grpc-message-type"),
    printable(20),
  ),
  fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), printable(40)),
);

/** Authentication: for signed routes a signature (valid over the bytes sent, or not), for participant routes a token. */
const authArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant("valid" as const) },
  { weight: 1, arbitrary: fc.constant("none" as const) },
  { weight: 1, arbitrary: fc.constant("key-only" as const) },
  { weight: 1, arbitrary: fc.constant("wrong" as const) },
  { weight: 1, arbitrary: printable(80).map((garbage) => ({ garbage })) },
);

const requestArb = (targets: Target[]) =>
  fc.record({
    target: fc.constantFrom(...targets),
    http2: fc.boolean(),
    chunked: fc.boolean(),
    roomId: fc.oneof(fc.constantFrom(...roomIds), fc.string({ maxLength: 20 })),
    message: messageArb,
    framing: framingArb,
    compression: compressionArb,
    contentType: contentTypeArb,
    auth: authArb,
    headers: fc.oneof(fc.constant([]), fc.array(headerArb, { minLength: 1, maxLength: 3 })),
  });

type FuzzRequest = ReturnType<typeof requestArb> extends fc.Arbitrary<infer R> ? R : never;

// Building the request.

function build(r: FuzzRequest): {
  path: string;
  http2: boolean;
  chunked: boolean;
  headers: Record<string, string>;
  body: Uint8Array;
} {
  const t = r.target;
  let message = validMessage(t, r.roomId);
  if (r.message.kind === "mutated") message = r.message.mutations.reduce((bytes, m) => m(bytes), message);
  else if (r.message.kind === "random") message = r.message.bytes;
  else if (r.message.kind === "oversized")
    message = Buffer.concat([
      message,
      Buffer.alloc(Math.max(0, maxBodyBytes + r.message.extra - message.length), 0x20),
    ]);

  const headers: Record<string, string> = {};
  for (const [name, value] of r.headers) headers[name] = value;
  headers["content-type"] = r.contentType ?? t.contentType;

  let body: Uint8Array;
  if (t.framing === "body") {
    body = message;
    if (r.compression) {
      body = compress[r.compression.coding](body);
      if (r.compression.announced) headers["content-encoding"] = r.compression.coding;
    }
  } else {
    let payload = message;
    let flags = r.framing.kind === "envelope" ? r.framing.flags : 0;
    if (r.compression) {
      payload = compress[r.compression.coding](payload);
      flags |= 1;
      if (r.compression.announced) headers["grpc-encoding"] = r.compression.coding;
    }
    const framed = envelope(
      flags,
      payload,
      r.framing.kind === "envelope" ? payload.length + r.framing.lengthDelta : payload.length,
    );
    if (r.framing.kind === "truncated") body = framed.subarray(0, r.framing.cut % framed.length);
    else if (r.framing.kind === "twice") body = Buffer.concat([framed, framed]);
    else if (r.framing.kind === "bare") body = payload;
    else body = framed;
  }

  if (t.method.signed) {
    const { apiKey, apiSecret } = deployment.pnm.config;
    // The signed bytes as the server sees them: the body, or what follows an envelope's 5-byte prefix.
    const signedBytes = t.framing === "envelope" && r.framing.kind !== "bare" ? body.subarray(5) : body;
    if (r.auth === "valid")
      Object.assign(headers, { "api-key": apiKey, "hash-signature": hmacHex(apiSecret, signedBytes) });
    else if (r.auth === "key-only") headers["api-key"] = apiKey;
    else if (r.auth === "wrong")
      Object.assign(headers, {
        "api-key": apiKey,
        "hash-signature": hmacHex(apiSecret, Buffer.concat([signedBytes, Buffer.from("x")])),
      });
    else if (r.auth !== "none") Object.assign(headers, { "api-key": apiKey, "hash-signature": r.auth.garbage });
  } else if (r.auth === "valid") headers.authorization = token;
  else if (r.auth === "wrong") headers.authorization = `Bearer ${token}x`;
  else if (r.auth === "key-only") headers.authorization = "Bearer";
  else if (r.auth !== "none") headers.authorization = r.auth.garbage;
  for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];

  return { path: t.path, http2: t.transport === "grpc" || r.http2, chunked: r.chunked, headers, body };
}

// The properties.

/** The state a refused request must leave alone: every JetStream stream's last sequence (the room store's buckets, the room streams). */
async function state(): Promise<string> {
  const streams = await jsm.streams.list().next();
  return streams
    .filter((s) => !s.config.name.includes("nonces")) // signature v2's replay guard: not room state
    .map((s) => `${s.config.name}@${s.state.last_seq}`)
    .sort()
    .join(" ");
}

const failureNames = new Set(Object.keys(FailureReason).filter((name) => Number.isNaN(Number(name))));

/** The outcome of an answer: "ok", or the reason it names; throws when a refusal does not say why. */
function readAnswer(t: Target, sent: { headers: Record<string, string> }, answer: RawAnswer): string {
  expect(answer.status, "no 5xx").toBeLessThan(500);
  if (t.transport !== "rest") {
    const reading = readRpcAnswer(answer);
    if (reading.ok) return "ok";
    expect(
      reading.detail,
      `refusal without ErrorDetail: HTTP ${answer.status}, code ${String(reading.code)}, ${answer.body.toString("latin1").slice(0, 200)}`,
    ).toBeDefined();
    expect(FailureReason[reading.detail!.reason]).not.toBe("INTERNAL");
    return FailureReason[reading.detail!.reason]!;
  }
  const reason = answer.headers["pnm-failure-reason"];
  let success = false;
  if (answer.status === 200 && reason === undefined) {
    if (t.method.signed) success = (JSON.parse(answer.body.toString("utf8")) as { status?: unknown }).status === true;
    else success = fromBinary(VerifyTokenResponseSchema, answer.body).status;
  }
  if (success) return "ok";
  expect(
    reason,
    `refusal without pnm-failure-reason: HTTP ${answer.status}, ${answer.body.toString("latin1").slice(0, 200)}`,
  ).toBeDefined();
  expect(failureNames.has(reason!), reason).toBe(true);
  expect(reason).not.toBe("INTERNAL");
  expect([200, 401, 413, 415]).toContain(answer.status);
  // Upstream's body: JSON on /auth unless the request was exactly application/protobuf, binary CommonResponse on /api.
  if (t.method.signed && sent.headers["content-type"] !== "application/protobuf") {
    expect(JSON.parse(answer.body.toString("utf8"))).toMatchObject({ status: false });
  } else {
    expect(fromBinary(CommonResponseSchema, answer.body).status).toBe(false);
  }
  return reason!;
}

async function fuzz(name: string, targets: Target[], index: number): Promise<void> {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(requestArb(targets), async (r) => {
      const sent = build(r);
      const before = await state();
      const answer = await client.send(sent, answerWithinMs);
      const outcome = readAnswer(r.target, sent, answer);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome !== "ok") expect(await state(), "a refused request changed state").toBe(before);
    }),
    { seed: seed + index, numRuns: runs, timeout: answerWithinMs * 2, interruptAfterTimeLimit: timeLimitMs },
  );
  // What the runs reached: how many were served, and each refusal reason.
  console.log(
    `${name}, ${[...outcomes.values()].reduce((a, b) => a + b, 0)} runs: ${[...outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, count]) => `${outcome} ${count}`)
      .join(", ")}`,
  );
}

const rpcTargets = (transport: Transport) => methods.map((m) => target(m, transport));

describe("every route survives fuzzed requests", () => {
  it("upstream's REST routes, signed and /api/verifyToken", async () => {
    await fuzz("REST", rpcTargets("rest"), 0);
  }, 120_000);

  it("Connect, JSON and binary", async () => {
    await fuzz("Connect", [...rpcTargets("connect-json"), ...rpcTargets("connect-proto")], 1);
  }, 120_000);

  it("gRPC-web", async () => {
    await fuzz("gRPC-web", rpcTargets("grpc-web"), 2);
  }, 120_000);

  it("gRPC over h2c", async () => {
    await fuzz("gRPC", rpcTargets("grpc"), 3);
  }, 120_000);

  it("still serves a valid request afterwards", async () => {
    expect((await deployment.rooms.isRoomActive({ roomId: "fuzz-room" })).status).toBe(true);
  });
});

function set(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = value;
  return copy;
}

function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(Math.min(bytes.length, at + remove))]);
}
