/**
 * IsRoomActive over Connect JSON through pnm's own routes and listener, once
 * with the API signature check and once with a verifier that accepts every
 * request, in one run on loopback. Prints requests per second for each and
 * their ratio.
 * Usage: npm run bench:rpc [-- --seconds 5 --rounds 2 --connections 20]
 */
import { createHmac, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { createRoomServiceClient } from "@pnm/client";
import { createAccessTokenCodec } from "../server/src/auth/access-token.js";
import { type ApiSignatureVerifier, createApiSignatureVerifier } from "../server/src/auth/api-signature.js";
import { createConnectRoutes } from "../server/src/http/connect-routes.js";
import { listenDualProtocol } from "../server/src/http/listener.js";
import { silentLogger } from "../server/src/logger.js";
import { spawnNatsServer } from "../server/src/nats/embedded-nats.js";
import { createNatsKeys } from "../server/src/nats/nats-keys.js";
import { connectAsServer } from "../server/src/nats/server-connection.js";
import { createParticipantService } from "../server/src/services/participant-service.js";
import { createRoomService } from "../server/src/services/room-service.js";
import { createRoomStore } from "../server/src/store/room-store.js";
import { runLoad, type LoadResult } from "./load.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" }, rounds: { type: "string", default: "2" }, connections: { type: "string", default: "20" } } });
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

const keys = createNatsKeys();
const nats = await spawnNatsServer({ keys });
const nc = await connectAsServer({ url: nats.url, user: keys.serverUser });
const apiKey = "bench";
const apiSecret = randomBytes(32).toString("base64url");
const config = { host: "127.0.0.1", httpPort: 0, apiKey, apiSecret, natsWsUrls: [], corsOrigins: [], tokenValidityMs: 600_000, dataDir: "", maxBodyBytes: 65_536 };
const store = await createRoomStore({ nc });
const tokens = createAccessTokenCodec(config);
const rooms = createRoomService({ store, tokens, tokenValidityMs: 600_000, sessions: { end: async () => {} } });
const participants = createParticipantService({ store, tokens, natsWsUrls: () => [], timings: { pendingMs: 10_000, offlineAfterMs: 5_000 } });
const acceptEverything: ApiSignatureVerifier = { begin: () => ({ update: () => {}, finish: () => {} }) };

async function serve(signature: ApiSignatureVerifier) {
  const routes = createConnectRoutes({ rooms, participants, signature, maxBodyBytes: 65_536, logger: silentLogger });
  const listener = await listenDualProtocol({ host: "127.0.0.1", port: 0, handler: (req, res) => routes.get(req.url ?? "")!(req, res) });
  return { url: `http://127.0.0.1:${listener.port}`, close: () => listener.close() };
}
const signedServer = await serve(createApiSignatureVerifier(config));
const unsignedServer = await serve(acceptEverything);
await createRoomServiceClient({ baseUrl: signedServer.url, apiKey, apiSecret }).createRoom({ roomId: "bench", metadata: { roomTitle: "bench", roomFeatures: {} } });

const body = JSON.stringify({ roomId: "bench" });
const path = "/pnm.v1.RoomService/IsRoomActive";
const json = { "content-type": "application/json" };
const signedHeaders = { ...json, "API-KEY": apiKey, "HASH-SIGNATURE": createHmac("sha256", apiSecret).update(body).digest("hex") };

const unsigned: LoadResult[] = [];
const signed: LoadResult[] = [];
await runLoad({ url: unsignedServer.url + path, body, headers: json, connections, seconds: 1 }); // warm-up
await runLoad({ url: signedServer.url + path, body, headers: signedHeaders, connections, seconds: 1 });
// Alternate which side goes first, so drift in the machine's load favours neither.
for (let round = 0; round < rounds; round++) {
  const runUnsigned = async () => unsigned.push(await runLoad({ url: unsignedServer.url + path, body, headers: json, connections, seconds }));
  const runSigned = async () => signed.push(await runLoad({ url: signedServer.url + path, body, headers: signedHeaders, connections, seconds }));
  for (const run of round % 2 === 0 ? [runUnsigned, runSigned] : [runSigned, runUnsigned]) await run();
}
const failures = [...unsigned, ...signed].reduce((n, r) => n + r.non2xx, 0);
const mean = (rs: LoadResult[], f: (r: LoadResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
const rpsUnsigned = mean(unsigned, (r) => r.requestsPerSecond);
const rpsSigned = mean(signed, (r) => r.requestsPerSecond);
console.log(`IsRoomActive, Connect JSON, ${connections} connections, ${rounds} x ${seconds} s each, loopback`);
console.log(`unsigned:                ${rpsUnsigned.toFixed(0)} req/s, p50 ${mean(unsigned, (r) => r.p50Ms).toFixed(1)} ms, p99 ${mean(unsigned, (r) => r.p99Ms).toFixed(1)} ms`);
console.log(`signed (pnm):             ${rpsSigned.toFixed(0)} req/s, p50 ${mean(signed, (r) => r.p50Ms).toFixed(1)} ms, p99 ${mean(signed, (r) => r.p99Ms).toFixed(1)} ms`);
console.log(`ratio signed/unsigned: ${(rpsSigned / rpsUnsigned).toFixed(3)} (target >= 0.90)${failures ? `; ${failures} non-2xx answers` : ""}`);

await signedServer.close();
await unsignedServer.close();
await nc.close();
await nats.stop();
