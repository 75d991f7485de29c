import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { NatsSubjectsSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { describe, expect, it } from "vitest";
import { NatsTimeoutError } from "../../src/nats/nats-errors.js";
import type { NatsConnection } from "../../src/nats/ws-connection.js";
import { createServerChannel, type ServerChannel } from "../../src/session/server-channel.js";
import { useNatsServer } from "../support/nats-server.js";

const subjects = create(NatsSubjectsSchema, { systemPrivate: "private", systemCoreWorker: "worker" });
const { REQ_INITIAL_DATA, REQ_MEDIA_SERVER_DATA } = NatsMsgClientToServerEvent;
const { RES_INITIAL_DATA, RES_MEDIA_SERVER_DATA, SESSION_ENDED } = NatsMsgServerToClientEvent;
const nats = useNatsServer();
const toAlice = (nc: NatsConnection, event: NatsMsgServerToClientEvent, msg: string) =>
  nc.publish(
    "private.room.alice.events",
    toBinary(NatsMsgServerToClientSchema, create(NatsMsgServerToClientSchema, { event, msg })),
  );

/** A server that answers every request on alice's worker subject with the answer event, its msg echoing the request's. */
async function echoServer() {
  const nc = await nats.connect();
  const answerTo = new Map([
    [REQ_INITIAL_DATA, RES_INITIAL_DATA],
    [REQ_MEDIA_SERVER_DATA, RES_MEDIA_SERVER_DATA],
  ]);
  nc.subscribe("worker.room.alice", (m) => {
    const request = fromBinary(NatsMsgClientToServerSchema, m.data);
    toAlice(nc, answerTo.get(request.event)!, `re: ${request.msg}`);
  });
  await nc.flush();
  return nc;
}

/** As the session does: attach to a connection, then flush it before the first request. */
async function attach(server: ServerChannel, nc?: NatsConnection) {
  const connection = nc ?? (await nats.connect());
  const detach = server.attach(connection);
  await connection.flush();
  return detach;
}

function channel() {
  const unsolicited: NatsMsgServerToClient[] = [];
  const server = createServerChannel({
    subjects,
    roomId: "room",
    userId: "alice",
    onUnsolicited: (m) => void unsolicited.push(m),
  });
  return { server, unsolicited };
}

describe("server channel", () => {
  it("sends requests on the user's worker subject and hands each the answer it waits for; the rest is unsolicited", async () => {
    const published = await nats.wiretap();
    const serverNc = await echoServer();
    const { server, unsolicited } = channel();
    await attach(server);
    toAlice(serverNc, SESSION_ENDED, "bye");
    const [initial, media] = await Promise.all([
      server.request(REQ_INITIAL_DATA, "initial", RES_INITIAL_DATA),
      server.request(REQ_MEDIA_SERVER_DATA, "media", RES_MEDIA_SERVER_DATA),
    ]);
    expect(initial.msg).toBe("re: initial");
    expect(media.msg).toBe("re: media");
    expect(unsolicited.map((m) => [m.event, m.msg])).toEqual([[SESSION_ENDED, "bye"]]);
    await nats.settle();
    expect(published.filter((m) => m.subject === "worker.room.alice")).toHaveLength(2);
  });

  it("refuses a request before it has a connection", async () => {
    await expect(channel().server.request(REQ_INITIAL_DATA, "", RES_INITIAL_DATA)).rejects.toThrow(/no connection/);
  });

  it("moves to a new connection: requests and answers go over it, the old one no longer listens", async () => {
    const serverNc = await echoServer();
    const { server, unsolicited } = channel();
    const first = await nats.connect();
    const detach = server.attach(first);
    detach();
    await nats.kick(first);
    await attach(server);
    expect((await server.request(REQ_INITIAL_DATA, "again", RES_INITIAL_DATA)).msg).toBe("re: again");
    toAlice(serverNc, SESSION_ENDED, "once");
    await nats.settle();
    expect(unsolicited).toHaveLength(1);
  });

  it("rejects a request that could not be sent, without letting it take a later request's answer", async () => {
    await echoServer();
    const { server } = channel();
    const dropped = await nats.connect();
    server.attach(dropped);
    await nats.kick(dropped);
    await expect(server.request(REQ_INITIAL_DATA, "lost", RES_INITIAL_DATA)).rejects.toThrow(/closed/);
    await attach(server);
    expect((await server.request(REQ_INITIAL_DATA, "second", RES_INITIAL_DATA)).msg).toBe("re: second");
  });

  it("gives up on an answer that does not come in time", async () => {
    const { server } = channel();
    await attach(server);
    const refusal = server.request(REQ_INITIAL_DATA, "", RES_INITIAL_DATA, 20);
    await expect(refusal).rejects.toBeInstanceOf(NatsTimeoutError);
    await expect(refusal).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});
