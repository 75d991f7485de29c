/**
 * Where an authorization's time goes: each step of the auth callout's answer,
 * run alone a few thousand times on a real request captured from nats-server,
 * then admission against the real KV one at a time and `--in-flight` at once,
 * its reads from the KV and from the watched records, and a user's seat
 * record and the room's count of seats read and written with compare-and-set.
 * Takes one to two minutes.
 * Usage: bash scripts/dev.sh bench/callout-profile.ts [--iterations 2000] [--in-flight 50] [--users 200]
 */
import { parseArgs } from "node:util";
import { type AuthorizationRequest, encodeAuthorizationResponse, encodeUser } from "@nats-io/jwt";
import { type Msg, nkeyAuthenticator } from "@nats-io/nats-core";
import { fromCurveSeed } from "@nats-io/nkeys";
import { connect } from "@nats-io/transport-node";
import { nodeWebSocket } from "@pnm/client/node";
import { connectParticipant } from "@pnm/client/protocol";
import { createAccessTokenCodec } from "../server/src/auth/access-token.js";
import { createCurveBox } from "../server/src/nkeys/curve-box.js";
import { createNativeSigner, verifyNatsJwt } from "../server/src/nkeys/native-signer.js";
import { encodeAuthorizationResponseJwt, encodeUserJwt } from "../server/src/nkeys/nats-jwt-encoder.js";
import { createConnectionAdmission } from "../server/src/plane/admission.js";
import { authCalloutSubject } from "../server/src/plane/auth-callout.js";
import { participantPermissions, participantUserName } from "../server/src/plane/permissions.js";
import { createSeatLedger } from "../server/src/rooms/seat-ledger.js";
import { createParticipantService } from "../server/src/services/participant-service.js";
import { createRoomStore, userKey } from "../server/src/store/room-store.js";
import { startBenchDeployment } from "./bench-deployment.js";
import { machineLine } from "./report.js";
import { formatTable } from "./stats.js";
import { type Timing, time } from "./timing.js";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "2000" },
    "in-flight": { type: "string", default: "50" },
    users: { type: "string", default: "200" },
  },
});
const machine = machineLine(); // before this bench adds its own load
const iterations = Number(values.iterations);
const inFlight = Number(values["in-flight"]);
const users = Number(values.users);

const deployment = await startBenchDeployment(users);
const { keys, config, participants } = deployment;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// One real request, sealed by nats-server, copied off the callout subject while pnm answers it.
const captured = new Promise<Msg>((resolve) => {
  const sub = deployment.nc.subscribe(authCalloutSubject, {
    callback: (_, msg) => {
      sub.unsubscribe();
      resolve(msg);
    },
  });
});
await deployment.nc.flush();
const first = participants[0];
const probe = await connectParticipant({
  servers: [deployment.nats.wsUrl],
  token: () => first.token,
  webSocket: nodeWebSocket,
});
await probe.close();
const msg = await captured;
// Only the steps below may spend CPU from here on.
await deployment.closeServer();

const sealed = msg.data;
const serverXkey = msg.headers!.get("Nats-Server-Xkey");
const nkeysBox = fromCurveSeed(encoder.encode(keys.xkey.seed));
const box = createCurveBox(keys.xkey.seed);
const issuer = createNativeSigner(keys.issuer.seed);
const requestJwt = decoder.decode(box.open(sealed, serverXkey)!);
const requestIat = (JSON.parse(Buffer.from(requestJwt.split(".")[1], "base64url").toString()) as { iat: number }).iat;
const request = verifyNatsJwt<AuthorizationRequest>(requestJwt, {
  audience: "nats-authorization-request",
  nowSeconds: requestIat,
}).nats;
const userNkey = request.user_nkey!;
const serverId = request.server_id!.id!;
const tokens = createAccessTokenCodec(config);
const claims = tokens.verify(first.token);
// The user the callout issues (see server/src/plane/auth-callout.ts).
const userName = participantUserName(claims.room_id, claims.sub);
const user = {
  ...participantPermissions(claims.room_id, claims.sub),
  allowed_connection_types: ["WEBSOCKET" as const],
};
const issueUser = () => encodeUserJwt(userName, userNkey, issuer, user, { aud: "PNM", exp: claims.exp });
const userJwt = issueUser();
const response = encodeAuthorizationResponseJwt(userNkey, serverId, issuer, { jwt: userJwt });

const rows: string[][] = [["step", "µs/op wall", "µs/op cpu", "ops/s", "failed"]];
const row = (name: string, t: Timing) =>
  rows.push([name, t.wallUs.toFixed(0), t.cpuUs.toFixed(0), (1e6 / t.wallUs).toFixed(0), String(t.failures)]);

row(
  `xkey open, @nats-io/nkeys (${sealed.length} B), for comparison`,
  await time(iterations, () => nkeysBox.open(sealed, serverXkey)),
);
row("xkey open, pnm's curve box (cached shared key)", await time(iterations, () => box.open(sealed, serverXkey)));
row(
  "verifyNatsJwt of the request",
  await time(iterations, () =>
    verifyNatsJwt(requestJwt, { audience: "nats-authorization-request", nowSeconds: requestIat }),
  ),
);
row("access token verify (HS256)", await time(iterations, () => tokens.verify(first.token)));
row(
  "@nats-io/jwt encodeUser, native signer, for comparison",
  await time(iterations, () => encodeUser(userName, userNkey, issuer, user, { aud: "PNM", exp: claims.exp })),
);
row("encodeUserJwt, native signer", await time(iterations, issueUser));
row(
  "@nats-io/jwt encodeAuthorizationResponse, native signer, for comparison",
  await time(iterations, () => encodeAuthorizationResponse(userNkey, serverId, issuer, { jwt: userJwt }, {})),
);
row(
  "encodeAuthorizationResponseJwt, native signer",
  await time(iterations, () => encodeAuthorizationResponseJwt(userNkey, serverId, issuer, { jwt: userJwt })),
);
row(
  `xkey seal, @nats-io/nkeys (${response.length} B), for comparison`,
  await time(iterations, () => nkeysBox.seal(encoder.encode(response), serverXkey)),
);
row("xkey seal, pnm's curve box", await time(iterations, () => box.seal(encoder.encode(response), serverXkey)));

// Admission against the real KV, one connection identity per call so that every call takes a seat.
const nc = await connect({
  servers: deployment.nats.url,
  authenticator: nkeyAuthenticator(encoder.encode(keys.serverUser.seed)),
});
const store = await createRoomStore({ nc });
const timings = { pendingMs: 10_000, offlineAfterMs: config.offlineAfterMs };
const ledger = createSeatLedger({ store, timings });
const service = createParticipantService({ store, tokens, natsWsUrls: () => [], timings, ledger });
// Every call moves a user's seat to a new, made-up connection; kicking the previous one is not a connect's cost.
const admission = createConnectionAdmission({
  store,
  ledger,
  participants: service,
  kicker: { kick: async () => {} },
  timings,
});
const identity = (i: number) => ({ cid: 1_000_000 + i, serverId });
const token = (i: number) => participants[i % participants.length].token;
row("admission.admit, one at a time", await time(iterations, (i) => admission.admit(token(i), identity(i))));
row("participants.admit: token + 3 KV reads", await time(iterations, (i) => service.admit(token(i))));
row(
  "participants.admit from the watched records (no KV read)",
  await time(iterations, (i) => service.admit(token(i), { watched: true })),
);
const seatKey = userKey(claims.room_id, claims.sub);
const bytes = JSON.stringify((await store.seats.get(seatKey))?.value).length;
row(`user's seat record get (${bytes} B)`, await time(iterations, () => store.seats.get(seatKey)));
row(
  "user's seat record compare-and-set (update at the watched revision)",
  await time(iterations, () => store.modify(store.seats, seatKey, (current) => current && { ...current.value })),
);
row(
  "room's count of seats compare-and-set (update at the watched revision)",
  await time(iterations, () =>
    store.modify(store.roomSeats, claims.room_id, (current) => current && { ...current.value }),
  ),
);
row(
  `admission.admit, ${inFlight} at once`,
  await time(iterations, (i) => admission.admit(token(i), identity(iterations + i)), inFlight),
);
await nc.close();

console.log(machine);
console.log(
  `auth callout steps, ${iterations} iterations each, ${users} users in the room, this process only (nats-server's CPU not counted)`,
);
console.log(formatTable(rows));
await deployment.close();
