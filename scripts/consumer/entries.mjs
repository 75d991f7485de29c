// Every public entry loads in plain Node from the installed packages, and
// each does what a consumer first reaches for, checked against an independent
// source where there is one (node:crypto for signatures and keys).
import assert from "node:assert/strict";
import { createHmac, pbkdf2Sync } from "node:crypto";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const client = await import("@pnm/client");
for (const name of ["createRoomServiceClient", "joinSession", "failureReason", "applyLiveKitKey"])
  assert.equal(typeof client[name], "function", `@pnm/client: ${name}`);
assert.equal(client.FailureReason.SIGNATURE_INVALID, 4);
assert.ok(new client.RoomEndedError(client.FailureReason.ROOM_ENDED, "x") instanceof client.SessionError);

const node = await import("@pnm/client/node");
assert.equal(typeof node.createNodeHttp2Client, "function");
assert.equal(typeof node.nodeWebSocket, "function");

const protocol = await import("@pnm/client/protocol");
const secret = "a-secret-of-at-least-thirty-two-bytes";
const body = new TextEncoder().encode('{"room_id":"room01"}');
assert.equal(await protocol.signBody(secret, body), createHmac("sha256", secret).update(body).digest("hex"));

const e2ee = await import("@pnm/client/e2ee");
const { KeyDerivation } = await import("@pnm/protocol/pnm/v1/create_room_pb");
const derived = await e2ee.deriveKeyBytes("a passphrase", "room-sid", KeyDerivation.PBKDF2_ROOM_SID);
assert.deepEqual(Buffer.from(derived), pbkdf2Sync("a passphrase", "room-sid", 100_000, 32, "sha256"));
const key = await e2ee.createRoomKey({
  passphrase: "a passphrase",
  roomSid: "room-sid",
  scheme: KeyDerivation.PBKDF2_ROOM_SID,
});
assert.equal(
  new TextDecoder().decode(await key.decrypt(await key.encrypt(new TextEncoder().encode("hello")))),
  "hello",
);

const server = await import("@pnm/server");
assert.equal(typeof server.startPnmServer, "function");

// Every generated module, through the package's "./*" export (not by file path).
const require = createRequire(import.meta.url);
const protocolDir = dirname(require.resolve("@pnm/protocol/package.json"));
const generated = readdirSync(join(protocolDir, "dist/pnm/v1")).filter((f) => f.endsWith("_pb.js"));
assert.ok(generated.length >= 10, `only ${generated.length} generated modules`);
for (const file of generated) {
  const module = await import(`@pnm/protocol/pnm/v1/${file.replace(/\.js$/, "")}`);
  assert.ok(
    Object.keys(module).some((name) => name.startsWith("file_pnm_v1_")),
    file,
  );
}
console.log(`@pnm/client (., /node, /protocol, /e2ee), @pnm/server and ${generated.length} @pnm/protocol modules load`);
