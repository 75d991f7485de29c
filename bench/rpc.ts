/**
 * The Connect API in one run on loopback, autocannon in a child process, six
 * phases that alternate in rounds (the order reversed every other round):
 * - IsRoomActive over Connect JSON through pnm's own routes and listener,
 *   with the API signature check, HASH-SIGNATURE ("signed");
 * - the same with a verifier that accepts every request ("unsigned");
 * - the same signed with PNM-SIGNATURE, signature v2 ("signed v2"): a fresh
 *   timestamp and nonce per request, each nonce claimed in the NATS KV;
 * - a bare node:http handler that reads the request and answers the bytes
 *   signed IsRoomActive answers ("bare node:http"): Node's own HTTP cost;
 * - IsRoomActive unsigned with the room handed over from memory, no store
 *   behind it ("room in memory"): Connect's and pnm's routes' own cost
 *   (IsRoomActive itself reads the store's watched records, a round trip
 *   only for a room not seen yet);
 * - GetJoinToken over Connect JSON, signed, `--join-connections` at once,
 *   every request for a new user, as a room filling up.
 * Prints requests per second, p50 and p99, the CPU per request of this
 * process (pnm's server) and of nats-server, the KV operations per request
 * (the store's own count, pnm_store_operations_total, and nonce claims),
 * then the ratio lines: requests per second against each other (the
 * targets), and the same comparisons by pnm's CPU per request, which a
 * shared machine disturbs less.
 * `--profile DIR` writes a V8 CPU profile of this process for each phase of
 * each round (read them with bench/cpu-profile-summary.ts).
 * Usage: npm run bench:rpc [-- --seconds 5 --rounds 2 --connections 20 --join-connections 100 --profile DIR]
 */
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRoomServiceClient } from "@pnm/client";
import { createAccessTokenCodec } from "../server/src/auth/access-token.js";
import { createApiKeyring } from "../server/src/auth/api-keyring.js";
import {
  type ApiSignatureVerifier,
  createApiSignatureVerifier,
  defaultSignatureWindowMs,
} from "../server/src/auth/api-signature.js";
import { defaultMaxSessionMs } from "../server/src/config.js";
import { createConnectRoutes, type NodeRequest, type NodeResponse } from "../server/src/http/connect-routes.js";
import { listenDualProtocol } from "../server/src/http/listener.js";
import { silentLogger } from "../server/src/logger.js";
import { createPnmMetrics } from "../server/src/metrics.js";
import { spawnNatsServer } from "../server/src/nats/embedded-nats.js";
import { createNatsKeys } from "../server/src/nats/nats-keys.js";
import { connectAsServer } from "../server/src/nats/server-connection.js";
import { createSeatLedger } from "../server/src/rooms/seat-ledger.js";
import { createParticipantService } from "../server/src/services/participant-service.js";
import { createRoomService, type RoomService, type SessionControl } from "../server/src/services/room-service.js";
import { createNonceStore, type NonceStore } from "../server/src/store/nonce-store.js";
import { createRoomStore } from "../server/src/store/room-store.js";
import { localNatsServerBinary } from "../server/src/testing/index.js";
import { type LoadOptions, type LoadResult, startLoadGenerator } from "./load.js";
import { ownCpuMs, processCpuMs } from "./process-cpu.js";
import { machineLine, ratioLine } from "./report.js";
import { formatTable } from "./stats.js";
import { time } from "./timing.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "20" },
    "join-connections": { type: "string", default: "100" },
    profile: { type: "string" },
  },
});
const machine = machineLine(); // before this bench adds its own load
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const joinConnections = Number(values["join-connections"]);
if (!(seconds > 0 && rounds >= 1 && connections >= 1 && joinConnections >= 1))
  throw new Error("need --seconds > 0, --rounds >= 1, --connections >= 1 and --join-connections >= 1");

const keys = createNatsKeys();
const nats = await spawnNatsServer({ binary: localNatsServerBinary(), keys });
const nc = await connectAsServer({ url: nats.url, user: keys.serverUser });
const apiKey = "bench";
const apiSecret = randomBytes(32).toString("base64url");

// Every KV round trip the store makes, as its metrics count them (pnm_store_operations_total), by
// bucket and kind ("users.create"), and the nonce claims of PNM-SIGNATURE, counted here.
const metrics = createPnmMetrics();
const store = await createRoomStore({ nc, metrics });
const nonceClaims = { count: 0 };
async function kvOps(): Promise<Map<string, number>> {
  const { values } = await metrics.storeOperations.get();
  const ops = new Map(values.map(({ labels, value }) => [`${labels.bucket}.${labels.operation}`, value] as const));
  return ops.set("nonces.create", nonceClaims.count);
}
const tokens = createAccessTokenCodec({ apiKey, apiSecret });
// No participant is connected: ending or promoting a session has nothing to reach.
const sessions: SessionControl = { end: async () => {}, promote: async () => {} };
// The production defaults (server/src/app.ts).
const timings = { pendingMs: 10_000, offlineAfterMs: 5_000 };
const ledger = createSeatLedger({ store, timings });
const roomOptions = { tokens, tokenValidityMs: 600_000, maxSessionMs: defaultMaxSessionMs, timings, sessions, ledger };
const rooms = createRoomService({ store, ...roomOptions });
const participants = createParticipantService({ store, tokens, natsWsUrls: () => [], timings, ledger });
const acceptEverything: ApiSignatureVerifier = { begin: () => ({ update: () => {}, finish: async () => {} }) };

// Requests the servers have taken, and those not yet answered: a phase ends when its last request has.
const requests = { served: 0, open: 0 };
const counting =
  <Req, Res extends { once(event: "close", listener: () => void): unknown }>(handler: (req: Req, res: Res) => void) =>
  (req: Req, res: Res) => {
    requests.served++;
    requests.open++;
    res.once("close", () => void requests.open--);
    handler(req, res);
  };

async function serve(signature: ApiSignatureVerifier, roomService: RoomService = rooms) {
  const routes = createConnectRoutes({
    rooms: roomService,
    participants,
    signature,
    maxBodyBytes: 65_536,
    logger: silentLogger,
  });
  // One load generator holds every connection, so the per-client cap is lifted.
  const handler = counting((req: NodeRequest, res: NodeResponse) => routes.get(req.url ?? "")!(req, res));
  const listener = await listenDualProtocol({
    host: "127.0.0.1",
    port: 0,
    handler,
    limits: { maxConnectionsPerClient: 0 },
  });
  return { url: `http://127.0.0.1:${listener.port}`, close: () => listener.close() };
}
// PNM-SIGNATURE's nonces go to their NATS KV bucket, as in pnm's server; HASH-SIGNATURE needs none.
const plainNonces = await createNonceStore({ nc, ttlMs: 2 * defaultSignatureWindowMs });
const nonces: NonceStore = {
  claim: (nonce) => {
    nonceClaims.count++;
    return plainNonces.claim(nonce);
  },
};
const verifier = createApiSignatureVerifier({ keys: createApiKeyring([{ key: apiKey, secret: apiSecret }]), nonces });
const signedServer = await serve(verifier);
const unsignedServer = await serve(acceptEverything);
const roomId = "bench";
await createRoomServiceClient({ baseUrl: signedServer.url, apiKey, apiSecret }).createRoom({
  roomId,
  metadata: { roomTitle: "bench", roomFeatures: {} },
});
// For telling Connect's cost from the KV's: the same service and routes, the room read from memory instead of NATS.
const room = await store.rooms.get(roomId);
const memoryRooms = createRoomService({
  store: {
    ...store,
    rooms: { ...store.rooms, get: async () => room },
    watched: { ...store.watched, rooms: { ...store.watched.rooms, get: async () => room } },
  },
  ...roomOptions,
});
const memoryServer = await serve(acceptEverything, memoryRooms);

const body = JSON.stringify({ roomId });
const isRoomActivePath = "/pnm.v1.RoomService/IsRoomActive";
const json = { "content-type": "application/json" };
const signedHeaders = {
  ...json,
  "API-KEY": apiKey,
  "HASH-SIGNATURE": createHmac("sha256", apiSecret).update(body).digest("hex"),
};

// The baseline answers exactly what pnm answers, status, headers and body, minus what Node adds itself.
const answer = await fetch(signedServer.url + isRoomActivePath, { method: "POST", headers: signedHeaders, body });
const answerBody = Buffer.from(await answer.arrayBuffer());
if (answer.status !== 200) throw new Error(`signed IsRoomActive answered ${answer.status}: ${answerBody.toString()}`);
const answerHeaders: Record<string, string> = {};
answer.headers.forEach((value, name) => {
  if (!["date", "connection", "keep-alive", "transfer-encoding"].includes(name)) answerHeaders[name] = value;
});
const bare = createServer(
  counting((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once("end", () => {
      res.writeHead(200, answerHeaders);
      res.end(answerBody);
    });
  }),
);
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

// Each GetJoinToken names a user no earlier request named: [<n>] is unique per request.
const joinBody = JSON.stringify({ roomId, userInfo: { name: "bench user [<n>]", userId: "u-[<n>]" } });
const joinPath = "/pnm.v1.RoomService/GetJoinToken";

interface Phase {
  name: string;
  load: LoadOptions;
}
const load = (url: string, extra: Partial<LoadOptions> = {}): LoadOptions => ({
  url,
  body,
  headers: json,
  connections,
  seconds,
  ...extra,
});
const phases: Phase[] = [
  { name: "unsigned", load: load(unsignedServer.url + isRoomActivePath) },
  { name: "signed", load: load(signedServer.url + isRoomActivePath, { headers: signedHeaders }) },
  // PNM-SIGNATURE: a fresh timestamp and nonce per request, and the nonce claimed in the KV.
  {
    name: "signed v2",
    load: load(signedServer.url + isRoomActivePath, {
      headers: { ...json, "API-KEY": apiKey },
      sign: { secret: apiSecret, version: "v2" },
    }),
  },
  { name: "bare node:http", load: load(bareUrl + isRoomActivePath) },
  { name: "unsigned, room in memory", load: load(memoryServer.url + isRoomActivePath) },
  {
    name: `GetJoinToken ${joinConnections} at once`,
    load: load(signedServer.url + joinPath, {
      body: joinBody,
      headers: { ...json, "API-KEY": apiKey },
      sign: { secret: apiSecret, version: "v1" },
      connections: joinConnections,
    }),
  },
];

interface Measured extends LoadResult {
  /** CPU per request the server took, µs: this process (pnm), nats-server. */
  pnmCpuUs: number;
  natsCpuUs: number | undefined;
  kvOps: Map<string, number>;
}

const profileDir = values.profile;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const inspector = profileDir ? new Session() : undefined;
inspector?.connect();
await inspector?.post("Profiler.enable");

async function settled(): Promise<void> {
  for (const deadline = Date.now() + 10_000; requests.open > 0 && Date.now() < deadline; )
    await new Promise((resolve) => setTimeout(resolve, 5));
}

async function measure(phase: Phase, label?: string): Promise<Measured> {
  await settled();
  const kvBefore = await kvOps();
  const servedBefore = requests.served;
  const before = { own: ownCpuMs(), nats: processCpuMs(nats.pid) };
  if (label) await inspector?.post("Profiler.start");
  const result = await generator.run(phase.load);
  // Requests still being answered when the load stopped belong to this phase, not the next (a
  // request its client dropped is closed at once, so its handler gets a moment more).
  await settled();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const profile = label ? (await inspector?.post("Profiler.stop"))?.profile : undefined;
  const after = { own: ownCpuMs(), nats: processCpuMs(nats.pid) };
  if (profile) writeFileSync(join(profileDir!, `${label}.cpuprofile`), JSON.stringify(profile));
  const n = Math.max(1, requests.served - servedBefore);
  const ops = new Map(
    [...(await kvOps())]
      .map(([op, count]) => [op, (count - (kvBefore.get(op) ?? 0)) / n] as const)
      .filter(([, perRequest]) => perRequest > 0),
  );
  return {
    ...result,
    pnmCpuUs: ((after.own - before.own) * 1000) / n,
    natsCpuUs:
      before.nats === undefined || after.nats === undefined ? undefined : ((after.nats - before.nats) * 1000) / n,
    kvOps: ops,
  };
}

const generator = startLoadGenerator();
// Warm-up: JIT, connections to NATS, the KV's caches.
for (const phase of phases) await measure({ ...phase, load: { ...phase.load, seconds: 1 } });
const results = new Map<string, Measured[]>(phases.map((phase) => [phase.name, []]));
// Alternate the order, so drift in the machine's load favours no phase.
for (let round = 0; round < rounds; round++) {
  for (const phase of round % 2 === 0 ? phases : [...phases].reverse()) {
    const label = profileDir ? `${phase.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-round${round + 1}` : undefined;
    results.get(phase.name)!.push(await measure(phase, label));
  }
}
inspector?.disconnect();

// What a token costs without the request around it: the JWT alone, in this process.
const mintInput = {
  userId: "u-mint",
  name: "bench user",
  roomId,
  roomSid: "sid",
  isAdmin: false,
  isHidden: false,
  clientType: 0,
  generation: 0,
};
const mint = await time(5_000, () => tokens.mint(mintInput, 600_000));
// What the signature costs without the request around it: HASH-SIGNATURE's check of IsRoomActive's body alone.
const bodyBytes = new TextEncoder().encode(body);
const signedHeader = (name: string) =>
  (signedHeaders as Record<string, string>)[Object.keys(signedHeaders).find((key) => key.toLowerCase() === name) ?? ""];
const check = await time(5_000, async () => {
  const signature = verifier.begin(signedHeader, { method: "POST", path: isRoomActivePath });
  signature.update(bodyBytes);
  await signature.finish();
});
// The record each GetJoinToken writes: one user's, as stored.
const sampleUser = (await store.users.keys(`${roomId}.>`))[0];
const userRecordBytes = sampleUser ? JSON.stringify((await store.users.get(sampleUser))?.value).length : 0;

const mean = (rs: Measured[], f: (r: Measured) => number | undefined) => {
  const xs = rs.map(f).filter((x): x is number => x !== undefined);
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : undefined;
};
const rows = [
  ["phase", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "cpu µs/req: pnm", "nats-server", "KV ops/req"],
];
const rate = new Map<string, number>();
for (const phase of phases) {
  const rs = results.get(phase.name)!;
  rate.set(phase.name, mean(rs, (r) => r.requestsPerSecond)!);
  const opNames = [...new Set(rs.flatMap((r) => [...r.kvOps.keys()]))];
  const ops = opNames.map((op) => `${op} ${mean(rs, (r) => r.kvOps.get(op) ?? 0)!.toFixed(2)}`).join(", ") || "-";
  rows.push([
    `${phase.name} (${phase.load.connections} conn.)`,
    rate.get(phase.name)!.toFixed(0),
    mean(rs, (r) => r.p50Ms)!.toFixed(1),
    mean(rs, (r) => r.p99Ms)!.toFixed(1),
    String(rs.reduce((s, r) => s + r.non2xx, 0)),
    String(rs.reduce((s, r) => s + r.errors, 0)),
    mean(rs, (r) => r.pnmCpuUs)!.toFixed(0),
    mean(rs, (r) => r.natsCpuUs)?.toFixed(0) ?? "n/a",
    ops,
  ]);
}
const [unsigned, signed, signedV2, bareRate, memoryRate, joinRate] = phases.map((phase) => rate.get(phase.name)!);
const [unsignedCpu, signedCpu, , bareCpu, memoryCpu, joinCpu] = phases.map(
  (phase) => mean(results.get(phase.name)!, (r) => r.pnmCpuUs)!,
);
const kvOpsPerRequest = (phase: Phase) =>
  mean(results.get(phase.name)!, (r) => [...r.kvOps.values()].reduce((sum, n) => sum + n, 0))!;
const [, signedKvOps, , , , joinKvOps] = phases.map(kvOpsPerRequest);

console.log(machine);
console.log(`Connect JSON on loopback, ${rounds} rounds x ${seconds} s per phase, autocannon in a child process`);
console.log(formatTable(rows));
console.log(
  `GetJoinToken: ${joinCpu.toFixed(0)} µs pnm CPU per token, of which minting the JWT alone takes ${mint.cpuUs.toFixed(1)} µs; ` +
    `one users record (${userRecordBytes} B of JSON) written per token`,
);
console.log(
  `signed IsRoomActive: ${signedCpu.toFixed(0)} µs pnm CPU per request, unsigned ${unsignedCpu.toFixed(0)} µs; ` +
    `the HASH-SIGNATURE check alone takes ${check.cpuUs.toFixed(1)} µs${check.failures ? ` (${check.failures} checks failed)` : ""}`,
);
console.log(ratioLine("KV operations per GetJoinToken", joinKvOps));
console.log(ratioLine("KV operations per signed IsRoomActive", signedKvOps));
console.log(ratioLine("signed IsRoomActive vs unsigned", signed / unsigned, { atLeast: 0.95 }));
console.log(ratioLine("signed IsRoomActive vs bare node:http", signed / bareRate, { atLeast: 0.35 }));
console.log(
  ratioLine(`GetJoinToken (${joinConnections} concurrent) vs signed IsRoomActive`, joinRate / signed, { atLeast: 0.5 }),
);
console.log(ratioLine("signed v2 (PNM-SIGNATURE) IsRoomActive vs signed (HASH-SIGNATURE)", signedV2 / signed));
console.log(ratioLine("unsigned IsRoomActive, room in memory, vs bare node:http", memoryRate / bareRate));
// CPU per request, inverted so that higher is better here too.
console.log(ratioLine("signed IsRoomActive vs unsigned, by pnm CPU per request", unsignedCpu / signedCpu));
console.log(ratioLine("signed IsRoomActive vs bare node:http, by pnm CPU per request", bareCpu / signedCpu));
console.log(
  ratioLine("unsigned IsRoomActive, room in memory, vs bare node:http, by pnm CPU per request", bareCpu / memoryCpu),
);

generator.close();
await signedServer.close();
await unsignedServer.close();
await memoryServer.close();
await new Promise((resolve) => bare.close(resolve));
await nc.close();
await nats.stop();
