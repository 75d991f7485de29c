// A TypeScript consumer of every public entry, type-checked with nodenext
// against the installed tarballs (scripts/consumer-test.ts). Nothing here
// runs: the consumer's programs are the .mjs files next to it.
import {
  createRoomServiceClient,
  FailureReason,
  failureReason,
  joinSession,
  type ParticipantSession,
  type RoomServiceClient,
  type SessionError,
} from "@pnm/client";
import { createRoomKey, type RoomKey } from "@pnm/client/e2ee";
import { createNodeHttp2Client, type NodeHttp2Client, nodeWebSocket } from "@pnm/client/node";
import { createParticipantClient, type ParticipantClient, signBody } from "@pnm/client/protocol";
import { type CreateRoomRequest, type CreateRoomResponse, KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { NatsMsgServerToClientEvent } from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { type PnmServer, startPnmServer } from "@pnm/server";

export async function serverToServer(baseUrl: string, apiKey: string, apiSecret: string): Promise<string | undefined> {
  const http2: NodeHttp2Client = createNodeHttp2Client(baseUrl);
  const rooms: RoomServiceClient = createRoomServiceClient({
    baseUrl,
    apiKey,
    apiSecret,
    protocol: "grpc",
    httpClient: http2.httpClient,
  });
  try {
    const created: CreateRoomResponse = await rooms.createRoom({
      roomId: "room01",
      metadata: { roomTitle: "Demo", roomFeatures: { allowWebcams: false } },
    });
    const echoed: Pick<CreateRoomRequest, "roomId"> = { roomId: created.roomInfo?.roomId ?? "" };
    const { token } = await rooms.getJoinToken({ roomId: echoed.roomId, userInfo: { name: "Alice", userId: "alice" } });
    return token;
  } catch (err) {
    const reason: FailureReason | undefined = failureReason(err);
    if (reason !== FailureReason.ROOM_SETTINGS_CONFLICT) throw err;
    return undefined;
  } finally {
    http2.close();
  }
}

export async function participant(baseUrl: string, token: string): Promise<ParticipantSession> {
  const session = await joinSession({
    baseUrl,
    token,
    webSocket: nodeWebSocket,
    promptForKey: async () => "a passphrase",
  });
  session.on("chat", (message) => console.log(message.fromName, message.message));
  session.on("ended", (error: SessionError) => console.log(error.reason === FailureReason.ROOM_ENDED));
  await session.sendChat("hello");
  return session;
}

export async function plumbing(baseUrl: string, token: string, apiSecret: string): Promise<[string, string]> {
  const api: ParticipantClient = createParticipantClient({ baseUrl, token: () => token, protocol: "grpc-web" });
  const verified = await api.verifyToken({ isProduction: true });
  const key: RoomKey = await createRoomKey({
    passphrase: "a passphrase",
    roomSid: verified.roomId ?? "",
    scheme: KeyDerivation.PBKDF2_ROOM_SID,
  });
  await key.encrypt(new TextEncoder().encode("hello"));
  return [await signBody(apiSecret, new TextEncoder().encode("{}")), RoomService.method.createRoom.name];
}

export async function embedded(): Promise<string> {
  const pnm: PnmServer = await startPnmServer();
  await pnm.close();
  return `${pnm.url} ${NatsMsgServerToClientEvent[NatsMsgServerToClientEvent.SESSION_ENDED]}`;
}
