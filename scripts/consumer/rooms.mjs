// The server-to-server API from the installed @pnm/client, over the protocol
// named on the command line: "connect" (fetch) or "grpc" (the HTTP/2 client
// of @pnm/client/node, closed when done).
// Env: PNM_URL, PNM_API_KEY, PNM_API_SECRET.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createRoomServiceClient, FailureReason, failureReason } from "@pnm/client";
import { createNodeHttp2Client } from "@pnm/client/node";
import { createParticipantClient } from "@pnm/client/protocol";

const protocol = process.argv[2];
assert.ok(protocol === "connect" || protocol === "grpc", "usage: node rooms.mjs connect|grpc");
const { PNM_URL: baseUrl, PNM_API_KEY: apiKey, PNM_API_SECRET: apiSecret } = process.env;
const http2 = protocol === "grpc" ? createNodeHttp2Client(baseUrl) : undefined;
const transport = { baseUrl, protocol, httpClient: http2?.httpClient };
try {
  const rooms = createRoomServiceClient({ ...transport, apiKey, apiSecret });
  const roomId = `consumer-${protocol}-${randomUUID().slice(0, 8)}`;
  const created = await rooms.createRoom({
    roomId,
    metadata: { roomTitle: `Consumer over ${protocol}`, roomFeatures: { allowWebcams: false } },
  });
  assert.equal(created.status, true, created.msg);
  assert.equal(created.roomInfo?.roomId, roomId);
  assert.equal((await rooms.isRoomActive({ roomId })).isActive, true);

  const { token } = await rooms.getJoinToken({ roomId, userInfo: { name: "Alice", userId: "alice" } });
  assert.match(token ?? "", /^[\w-]+\.[\w-]+\.[\w-]+$/);
  // The token is the server's: VerifyToken (unsigned, the token in Authorization) accepts it.
  const verified = await createParticipantClient({ ...transport, token: () => token }).verifyToken({
    isProduction: true,
  });
  assert.deepEqual([verified.roomId, verified.userId], [roomId, "alice"]);

  // A request signed with another secret is refused before any handler runs, with the contract's reason.
  const forged = createRoomServiceClient({ ...transport, apiKey, apiSecret: `${apiSecret}-but-not-quite` });
  const refusal = await forged.endRoom({ roomId }).then(
    () => undefined,
    (err) => err,
  );
  assert.equal(failureReason(refusal), FailureReason.SIGNATURE_INVALID, String(refusal));
  assert.equal((await rooms.isRoomActive({ roomId })).isActive, true);

  assert.equal((await rooms.endRoom({ roomId })).status, true);
  assert.equal((await rooms.isRoomActive({ roomId })).isActive, false);
  console.log(
    `CreateRoom, IsRoomActive, GetJoinToken, VerifyToken, a forged EndRoom refused, EndRoom: all over ${protocol}`,
  );
} finally {
  http2?.close();
}
