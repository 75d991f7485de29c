// pnm answers Connect unary requests itself, without Connect's handler
// (server/src/http/connect-routes.ts): each answer must be the one Connect's
// own handler gives for the same outcome. A Connect server
// (connectNodeAdapter) relays each call to pnm through the signed client and
// answers with what pnm answered, message or error; both answers are read
// raw and compared: status, content type and every byte of the body.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { create, type DescMessage, type MessageInitShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EndRoomRequestSchema, IsRoomActiveRequestSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { GetJoinTokenRequestSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import { RoomService } from "@pnm/protocol/pnm/v1/room_service_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";
import { type RawAnswer, type RawHttpClient, rawHttpClient } from "../support/raw-http.js";
import { hmacHex } from "../support/rest.js";

const deployment = useTestDeployment();
let relay: Server;
let pnmClient: RawHttpClient;
let relayClient: RawHttpClient;

beforeAll(async () => {
  await deployment.rooms.createRoom({ roomId: "unary-room", metadata: { roomTitle: "Unary", roomFeatures: {} } });
  relay = createServer(
    connectNodeAdapter({
      routes: (router) =>
        router.service(RoomService, {
          isRoomActive: (req) => deployment.rooms.isRoomActive(req),
          endRoom: (req) => deployment.rooms.endRoom(req),
          getJoinToken: (req) => deployment.rooms.getJoinToken(req),
        }),
    }),
  );
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  pnmClient = rawHttpClient(deployment.pnm.server.url);
  relayClient = rawHttpClient(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
});

afterAll(async () => {
  pnmClient?.close();
  relayClient?.close();
  await new Promise((resolve) => relay?.close(resolve));
});

/** A request of `schema`, encoded both ways. */
function request<S extends DescMessage>(name: string, method: string, schema: S, init: MessageInitShape<S>) {
  const message = create(schema, init);
  return {
    name,
    method,
    json: new TextEncoder().encode(toJsonString(schema, message)),
    binary: toBinary(schema, message),
  };
}

const cases = [
  request("IsRoomActive of an active room", "IsRoomActive", IsRoomActiveRequestSchema, { roomId: "unary-room" }),
  request("IsRoomActive of an unknown room", "IsRoomActive", IsRoomActiveRequestSchema, { roomId: "no-such-room" }),
  request("EndRoom of an unknown room (ROOM_NOT_FOUND)", "EndRoom", EndRoomRequestSchema, { roomId: "no-such-room" }),
  request("GetJoinToken without a user id (INVALID_ARGUMENT)", "GetJoinToken", GetJoinTokenRequestSchema, {
    roomId: "unary-room",
    userInfo: { name: "Nobody" },
  }),
];

const encodings = [
  { name: "JSON", contentType: "application/json", body: (c: (typeof cases)[number]) => c.json },
  { name: "binary", contentType: "application/proto", body: (c: (typeof cases)[number]) => c.binary },
];

const essentials = (answer: RawAnswer) => ({
  status: answer.status,
  contentType: answer.headers["content-type"],
  contentLength: answer.headers["content-length"],
  body: answer.body.toString("base64"),
});

describe("Connect unary answers are Connect's", () => {
  for (const encoding of encodings) {
    it.each(cases.map((c) => [c.name, c] as const))(`%s, ${encoding.name}`, async (_name, c) => {
      const body = encoding.body(c);
      const path = `/pnm.v1.RoomService/${c.method}`;
      const headers = { "content-type": encoding.contentType };
      const { apiKey, apiSecret } = deployment.pnm.config;
      const [fromPnm, fromConnect] = await Promise.all([
        pnmClient.send({
          path,
          headers: { ...headers, "api-key": apiKey, "hash-signature": hmacHex(apiSecret, body) },
          body,
          http2: false,
        }),
        relayClient.send({ path, headers, body, http2: false }),
      ]);
      expect(essentials(fromPnm)).toEqual(essentials(fromConnect));
    });
  }
});
