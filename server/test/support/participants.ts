import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type NatsConnection, tokenAuthenticator, wsconnect } from "@nats-io/nats-core";
import type { RoomServiceClient } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import {
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { userInboxPrefix } from "../../src/nats/subjects.js";
import type { TestDeployment, TestNats } from "./harness.js";

export async function issueToken(rooms: RoomServiceClient, roomId: string, userId: string): Promise<string> {
  const { token } = await rooms.getJoinToken({ roomId, userInfo: { name: userId, userId } });
  return token!;
}

/**
 * A participant's NATS connection over WebSocket, as a browser would open it
 * (no reconnects, so closes are visible). nats.js, not @pnm/client's own
 * connection: the plane's tests assert on its reports of the server's
 * refusals (PermissionViolationError, AuthorizationError).
 */
export function connectAs(nats: TestNats, roomId: string, userId: string, token: string): Promise<NatsConnection> {
  return wsconnect({
    servers: [nats.server.wsUrl],
    authenticator: tokenAuthenticator(() => token),
    inboxPrefix: userInboxPrefix(roomId, userId),
    reconnect: false,
    name: `${roomId}/${userId}`,
    wsFactory: async (url) => ({ socket: new nodeWebSocket(url), encrypted: false }),
  });
}

/** Resolves true when the connection closes within `ms`. */
export async function closesWithin(nc: NatsConnection, ms: number): Promise<boolean> {
  const closed = nc.closed().then(() => true);
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms));
  return Promise.race([closed, timeout]);
}

/** Sends a request envelope on the participant's own core worker subject and waits for the next private message of `event`. */
export async function request(
  nc: NatsConnection,
  roomId: string,
  userId: string,
  event: NatsMsgClientToServerEvent,
  msg: string,
  expect: number,
): Promise<NatsMsgServerToClient> {
  const sub = nc.subscribe(`sysPrivate.${roomId}.${userId}.>`);
  await nc.flush();
  const id = crypto.randomUUID();
  nc.publish(
    `sysCoreWorker.${roomId}.${userId}`,
    toBinary(NatsMsgClientToServerSchema, create(NatsMsgClientToServerSchema, { id, event, msg })),
  );
  const timer = setTimeout(() => sub.unsubscribe(), 5_000);
  try {
    for await (const m of sub) {
      const answer = fromBinary(NatsMsgServerToClientSchema, m.data);
      if (answer.event === expect) return answer;
    }
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  throw new Error(`no answer of event ${expect}`);
}

/** Polls until `probe` gives a truthy value. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A participant connected to the NATS plane of a room of its own (`<prefix>-<n>`), with its token. */
export interface ConnectedParticipant {
  roomId: string;
  userId: string;
  token: string;
  nc: NatsConnection;
}

let rooms = 0;
/** Creates a room `<prefix>-<n>`, issues `userId` a token for it and connects with that token. */
export async function connectedParticipant(
  deployment: TestDeployment,
  prefix: string,
  userId: string,
): Promise<ConnectedParticipant> {
  const roomId = `${prefix}-${++rooms}`;
  await deployment.rooms.createRoom({ roomId, metadata: { roomTitle: "R", roomFeatures: {} } });
  const token = await issueToken(deployment.rooms, roomId, userId);
  const nc = await connectAs(deployment.nats, roomId, userId, token);
  return { roomId, userId, token, nc };
}

/** Asks for `token` to be renewed over the participant's connection; the answer is RESP_RENEW_PNM_TOKEN. */
export const renewOver = (p: Omit<ConnectedParticipant, "token">, token: string) =>
  request(
    p.nc,
    p.roomId,
    p.userId,
    NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
    token,
    NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
  );
