// Rooms open to upstream's unmodified web client (PNM_UPSTREAM_WEB_CLIENT=on, room_features.upstream_web_client):
// a participant that behaves as that client does, next to pnm SDK participants and strict rooms on the same server.
import { create, fromBinary, fromJsonString, toBinary } from "@bufbuild/protobuf";
import {
  AckPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import {
  AuthorizationError,
  type Msg,
  type NatsConnection,
  PermissionViolationError,
  type Subscription,
} from "@nats-io/nats-core";
import { joinSession, type ParticipantSession, type ReceivedChat } from "@pnm/client";
import { createRoomKey, type RoomKey } from "@pnm/client/e2ee";
import { nodeWebSocket } from "@pnm/client/node";
import { ErrorDetailSchema, FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { KeyDerivation, RoomMetadataSchema } from "@pnm/protocol/pnm/v1/create_room_pb";
import { UserMetadataSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import { ChatMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import {
  MediaServerConnInfoSchema,
  NatsInitialDataSchema,
  NatsKvUserInfoSchema,
  NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverInboxRoot } from "../../src/nats/server-connection.js";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { connectAs, issueToken, waitFor } from "../support/participants.js";
import { joinAsUpstreamWebClient, type UpstreamStyleClient } from "../support/upstream-web-client.js";

const deployment = useTestDeployment((nats) => testConfig(nats, { upstreamWebClient: true }));
let jsm: JetStreamManager;
const open: { close(): Promise<unknown> }[] = [];
const stream = "pnm-room-stream";
const secret = "a passphrase the participants agreed on";

beforeAll(async () => {
  jsm = await jetstreamManager(await deployment.nats.connect());
  const e2ee = { isEnabled: true, includedChatMessages: true };
  const rooms: [string, object][] = [
    ["keyed", { endToEndEncryptionFeatures: e2ee }],
    ["typed", { endToEndEncryptionFeatures: { ...e2ee, enabledSelfInsertEncryptionKey: true } }],
    ["other", {}],
    ["lifecycle", {}],
    ["small", {}],
    ["strict", { upstreamWebClient: false }],
  ];
  for (const [roomId, roomFeatures] of rooms)
    await deployment.rooms.createRoom({
      roomId,
      maxParticipants: roomId === "small" ? 1 : undefined,
      metadata: { roomTitle: roomId, roomFeatures },
    });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
});

async function upstreamClient(roomId: string, userId: string): Promise<UpstreamStyleClient> {
  const client = await joinAsUpstreamWebClient(
    deployment.pnm.server.url,
    await issueToken(deployment.rooms, roomId, userId),
  );
  open.push(client);
  return client;
}

async function sdkParticipant(roomId: string, userId: string, received: ReceivedChat[]): Promise<ParticipantSession> {
  const session = await joinSession({
    baseUrl: deployment.pnm.server.url,
    token: await issueToken(deployment.rooms, roomId, userId),
    webSocket: nodeWebSocket,
    promptForKey: async () => secret,
  });
  session.on("chat", (m) => void received.push(m));
  open.push({ close: () => session.leave() });
  return session;
}

/** Asks and waits for the answer through the consumer; the JetStream publish itself is acknowledged by the work queue. */
async function ask(client: UpstreamStyleClient, event: NatsMsgClientToServerEvent, answer: NatsMsgServerToClientEvent) {
  const ack = await client.send(event, event === NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN ? client.token : "");
  expect(ack.stream).toBe("sysJsWorker");
  return client.next(answer);
}

/** The initial data, and the room key upstream's client derives from it (or from the typed passphrase). */
async function initialData(client: UpstreamStyleClient, typed?: string): Promise<{ key: RoomKey; sid: string }> {
  const answer = await ask(
    client,
    NatsMsgClientToServerEvent.REQ_INITIAL_DATA,
    NatsMsgServerToClientEvent.RES_INITIAL_DATA,
  );
  const data = fromJsonString(NatsInitialDataSchema, answer.msg, { ignoreUnknownFields: true });
  const metadata = fromJsonString(RoomMetadataSchema, data.room!.metadata, { ignoreUnknownFields: true });
  const e2ee = metadata.roomFeatures!.endToEndEncryptionFeatures!;
  expect(data.localUser?.userId).toBe(client.verified.userId);
  const passphrase = typed ?? e2ee.encryptionKey;
  expect(passphrase).toBeTruthy();
  const key = await createRoomKey({
    passphrase: passphrase!,
    roomSid: data.room!.roomSid,
    scheme: KeyDerivation.UNSPECIFIED,
  });
  return { key, sid: data.room!.roomSid };
}

/** Subscribes with core NATS, as the web client does for `chat.<room>`; collects what arrives. */
function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (err, m) => void (err || got.push(m)) });
  return got;
}

async function shown(received: ReceivedChat[], text: string): Promise<ReceivedChat> {
  return waitFor(() => received.find((m) => m.message === text));
}

/** Chat both ways between an upstream-style client and a pnm SDK participant, in a room that encrypts chat. */
async function chatsBothWays(roomId: string, typed?: string) {
  const seenBySdk: ReceivedChat[] = [];
  const sdk = await sdkParticipant(roomId, `sdk-${roomId}`, seenBySdk);
  const client = await upstreamClient(roomId, `web-${roomId}`);
  const { key } = await initialData(client, typed);
  const onShared = collect(client.nc, `chat.${roomId}`);
  await client.nc.flush();

  await sdk.sendChat(`from the SDK in ${roomId}`);
  const copy = await waitFor(() => onShared.find((m) => m.headers?.get("Pnm-Sender") === sdk.userId));
  const plain = await key.decrypt(copy.data);
  const message = fromBinary(ChatMessageSchema, plain);
  expect(message).toMatchObject({ message: `from the SDK in ${roomId}`, fromUserId: sdk.userId });
  // IV ‖ ciphertext ‖ tag around exactly a ChatMessage's bytes.
  expect(copy.data.length).toBe(12 + plain.length + 16);
  expect(toBinary(ChatMessageSchema, message)).toEqual(plain);

  const reply = create(ChatMessageSchema, {
    id: crypto.randomUUID(),
    fromName: "Web",
    fromUserId: client.verified.userId!,
    sentAt: String(Date.now()),
    message: `from the web client in ${roomId}`,
  });
  client.nc.publish(`chat.${roomId}`, await key.encrypt(toBinary(ChatMessageSchema, reply)));
  const got = await shown(seenBySdk, `from the web client in ${roomId}`);
  expect(got.sender).toEqual({ userId: client.verified.userId, verified: false });
  expect(got.fromUserId).toBe(client.verified.userId);
}

describe("upstream's web client in a room open to it", () => {
  it("reaches the initial data with the room key and gets every answer through its own consumer", async () => {
    const seen: ReceivedChat[] = [];
    const sdk = await sdkParticipant("keyed", "alice", seen);
    const client = await upstreamClient("keyed", "web");
    expect(client.verified.roomStreamName).toBe(stream);

    const pong = await ask(client, NatsMsgClientToServerEvent.PING, NatsMsgServerToClientEvent.PONG);
    expect(Number(pong.msg)).toBeGreaterThan(0);
    const { sid } = await initialData(client);
    expect(sid).toBeTruthy();

    for (const [request, answer] of [
      [NatsMsgClientToServerEvent.REQ_JOINED_USERS_LIST, NatsMsgServerToClientEvent.RES_JOINED_USERS_LIST],
      [NatsMsgClientToServerEvent.REQ_ONLINE_USERS_LIST, NatsMsgServerToClientEvent.RESP_ONLINE_USERS_LIST],
    ] as const) {
      const list = await ask(client, request, answer);
      const users = (JSON.parse(list.msg) as unknown[]).map((u) =>
        fromJsonString(NatsKvUserInfoSchema, JSON.stringify(u)),
      );
      expect(users.map((u) => [u.userId, u.name])).toEqual([[sdk.userId, "alice"]]);
    }

    // No LiveKit here: a refusal the web client can decode (msg is MediaServerConnInfo JSON), with the reason in bin_msg.
    const media = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_MEDIA_SERVER_DATA,
      NatsMsgServerToClientEvent.RES_MEDIA_SERVER_DATA,
    );
    expect(() => fromJsonString(MediaServerConnInfoSchema, media.msg)).not.toThrow();
    expect(fromBinary(ErrorDetailSchema, media.binMsg).reason).toBe(FailureReason.MEDIA_UNAVAILABLE);

    const renewed = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_RENEW_PNM_TOKEN,
      NatsMsgServerToClientEvent.RESP_RENEW_PNM_TOKEN,
    );
    expect(renewed.msg).not.toBe(client.token);
    // The renewed token admits the same user once the first session is gone.
    await client.close();
    const again = await waitFor(() =>
      joinAsUpstreamWebClient(deployment.pnm.server.url, renewed.msg).catch(() => undefined),
    );
    open.push(again);
    expect(again.verified.userId).toBe("web");
  });

  it("chats end-to-end encrypted both ways with a pnm SDK participant, with the server's key", async () => {
    await chatsBothWays("keyed");
  });

  it("chats end-to-end encrypted both ways with a pnm SDK participant, with a typed passphrase", async () => {
    await chatsBothWays("typed", secret);
  });
});

describe("the user lists", () => {
  const listed = async (client: UpstreamStyleClient) => {
    const list = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_ONLINE_USERS_LIST,
      NatsMsgServerToClientEvent.RESP_ONLINE_USERS_LIST,
    );
    return (JSON.parse(list.msg) as { user_id: string }[]).map((u) => u.user_id).sort();
  };
  const join = async (userId: string, userInfo: { isAdmin?: boolean; isHidden?: boolean } = {}) => {
    const { token } = await deployment.rooms.getJoinToken({
      roomId: "listing",
      userInfo: { name: userId, userId, ...userInfo },
    });
    const client = await joinAsUpstreamWebClient(deployment.pnm.server.url, token!);
    open.push(client);
    return client;
  };

  it("leave hidden users out, and show a participant nobody where the room hides its users list, an admin everyone", async () => {
    await deployment.rooms.createRoom({
      roomId: "listing",
      metadata: { roomTitle: "listing", roomFeatures: { allowViewOtherUsersList: false } },
    });
    const plain = await join("plain");
    const host = await join("host", { isAdmin: true });
    await join("ghost", { isHidden: true });
    await join("other");
    expect(await listed(host)).toEqual(["other", "plain"]);
    expect(await listed(plain)).toEqual([]);
  });
});

describe("the web client's consumer", () => {
  const consumerGone = (name: string) =>
    waitFor(async () =>
      jsm.consumers.info(stream, name).then(
        () => false,
        (e: unknown) => e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound,
      ),
    );

  it("is created at admission, reading the room's public and the user's private subjects from now on, with explicit acks", async () => {
    const client = await upstreamClient("lifecycle", "reader");
    const info = await jsm.consumers.info(stream, "lifecycle_reader");
    expect(info.config).toMatchObject({
      durable_name: "lifecycle_reader",
      filter_subjects: ["sysPublic.lifecycle.>", "sysPrivate.lifecycle.reader.>"],
      deliver_policy: "new",
      ack_policy: "explicit",
    });
    await client.close();
  });

  it("goes when the user goes offline", async () => {
    const client = await upstreamClient("lifecycle", "leaver");
    await client.close();
    expect(await consumerGone("lifecycle_leaver")).toBe(true);
  });

  it("goes with a removal, which ends the session through the consumer and kicks the connection", async () => {
    const client = await upstreamClient("lifecycle", "removed");
    await deployment.rooms.removeParticipant({ roomId: "lifecycle", userId: "removed" });
    const ended = await client.next(NatsMsgServerToClientEvent.SESSION_ENDED);
    expect(fromBinary(ErrorDetailSchema, ended.binMsg).reason).toBe(FailureReason.USER_REMOVED);
    await client.nc.closed();
    expect(await consumerGone("lifecycle_removed")).toBe(true);
  });

  it("goes with a block, and a blocked user's token is refused at the callout", async () => {
    const token = await issueToken(deployment.rooms, "lifecycle", "blocked");
    const client = await joinAsUpstreamWebClient(deployment.pnm.server.url, token);
    open.push(client);
    await deployment.rooms.removeParticipant({ roomId: "lifecycle", userId: "blocked", blockUser: true });
    const ended = await client.next(NatsMsgServerToClientEvent.SESSION_ENDED);
    expect(fromBinary(ErrorDetailSchema, ended.binMsg).reason).toBe(FailureReason.USER_BLOCKED);
    await client.nc.closed();
    expect(await consumerGone("lifecycle_blocked")).toBe(true);
    await expect(joinAsUpstreamWebClient(deployment.pnm.server.url, token)).rejects.toThrow();
    await expect(
      connectAs(deployment.nats, "lifecycle", "blocked", token).catch((e: unknown) => e),
    ).resolves.toBeInstanceOf(AuthorizationError);
  });

  it("goes when the room ends", async () => {
    await deployment.rooms.createRoom({ roomId: "ending", metadata: { roomTitle: "ending", roomFeatures: {} } });
    const client = await upstreamClient("ending", "stayer");
    await deployment.rooms.endRoom({ roomId: "ending" });
    const ended = await client.next(NatsMsgServerToClientEvent.SESSION_ENDED);
    expect(fromBinary(ErrorDetailSchema, ended.binMsg).reason).toBe(FailureReason.ROOM_ENDED);
    await client.nc.closed();
    expect(await consumerGone("ending_stayer")).toBe(true);
  });

  it("is never handed to a user whose <room>_<user> names another user's consumer: the callout refuses the user", async () => {
    // A consumer of room "lifecycle_x", user "y" (such a room is refused now, but its consumer may outlive the rule).
    const others = ["sysPublic.lifecycle_x.>", "sysPrivate.lifecycle_x.y.>"];
    await jsm.consumers.add(stream, {
      durable_name: "lifecycle_x_y",
      filter_subjects: others,
      ack_policy: AckPolicy.Explicit,
    });
    const refused = await connectAs(
      deployment.nats,
      "lifecycle",
      "x_y",
      await issueToken(deployment.rooms, "lifecycle", "x_y"),
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthorizationError);
    expect((await jsm.consumers.info(stream, "lifecycle_x_y")).config.filter_subjects).toEqual(others);
    await jsm.consumers.delete(stream, "lifecycle_x_y");
  });

  it("is not made for a participant the limit refuses at the callout", async () => {
    await upstreamClient("small", "first");
    const refused = await connectAs(
      deployment.nats,
      "small",
      "second",
      await issueToken(deployment.rooms, "small", "second"),
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthorizationError);
    await expect(jsm.consumers.info(stream, "small_second")).rejects.toBeInstanceOf(JetStreamApiError);
  });
});

describe("the waiting room of a room open to upstream's web client", () => {
  it("shows the web client its waiting screen without the room key, and lets it in on approval the way it listens for", async () => {
    const e2ee = { isEnabled: true, includedChatMessages: true };
    const waitingRoomFeatures = { isActive: true, waitingRoomMsg: "The host lets you in shortly" };
    await deployment.rooms.createRoom({
      roomId: "lobby",
      metadata: { roomTitle: "lobby", roomFeatures: { waitingRoomFeatures, endToEndEncryptionFeatures: e2ee } },
    });
    const token = await issueToken(deployment.rooms, "lobby", "guest");
    const client = await joinAsUpstreamWebClient(deployment.pnm.server.url, token, { reconnect: true });
    open.push(client);

    // The web client decodes msg whatever happens: the initial data, whose local user waits, and the refusal besides.
    const waiting = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_INITIAL_DATA,
      NatsMsgServerToClientEvent.RES_INITIAL_DATA,
    );
    expect(fromBinary(ErrorDetailSchema, waiting.binMsg).reason).toBe(FailureReason.USER_WAITING_FOR_APPROVAL);
    const data = fromJsonString(NatsInitialDataSchema, waiting.msg, { ignoreUnknownFields: true });
    const metadata = fromJsonString(RoomMetadataSchema, data.room!.metadata, { ignoreUnknownFields: true });
    expect(metadata.roomFeatures?.waitingRoomFeatures?.waitingRoomMsg).toBe(waitingRoomFeatures.waitingRoomMsg);
    expect(metadata.roomFeatures?.endToEndEncryptionFeatures?.encryptionKey ?? "").toBe("");
    const own = (json: string) => fromJsonString(UserMetadataSchema, json, { ignoreUnknownFields: true });
    expect(own(data.localUser!.metadata).waitForApproval).toBe(true);
    const refused = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_JOINED_USERS_LIST,
      NatsMsgServerToClientEvent.RES_JOINED_USERS_LIST,
    );
    expect(fromBinary(ErrorDetailSchema, refused.binMsg).reason).toBe(FailureReason.USER_WAITING_FOR_APPROVAL);
    expect(refused.msg).toBe("[]");

    // Approval: its own metadata with wait_for_approval false, as upstream's NatsUserMetadataUpdate, then the kick.
    const reconnected = statusEvent(client.nc, "reconnect");
    await deployment.rooms.approveParticipant({ roomId: "lobby", userId: "guest" });
    const update = await client.next(NatsMsgServerToClientEvent.USER_METADATA_UPDATE);
    const approved = JSON.parse(update.msg) as { user_id: string; metadata: string };
    expect(approved.user_id).toBe("guest");
    expect(own(approved.metadata).waitForApproval).toBe(false);

    // The web client reconnects with the same token and gets the room's permissions: its requests are answered now.
    await within(reconnected, "reconnect after the kick");
    const joined = await ask(
      client,
      NatsMsgClientToServerEvent.REQ_JOINED_USERS_LIST,
      NatsMsgServerToClientEvent.RES_JOINED_USERS_LIST,
    );
    expect(joined.binMsg).toHaveLength(0);
    expect(JSON.parse(joined.msg)).toEqual([]);
    await initialData(client);
  });
});

// Bounds a wait for the server's explicit answer.
const patienceMs = 3_000;
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${patienceMs} ms`)), patienceMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The connection's next status event of `type`. */
function statusEvent(nc: NatsConnection, type: string): Promise<void> {
  return new Promise((resolve) => {
    void (async () => {
      for await (const s of nc.status()) if (s.type === type) return resolve();
    })();
  });
}

/** The server's refusal of a publish, as nats.js reports it in a status event. */
function publishRefusal(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  return new Promise((resolve) => {
    void (async () => {
      for await (const s of nc.status())
        if (s.type === "error" && s.error instanceof PermissionViolationError && s.error.subject === subject)
          return resolve(s.error);
    })();
  });
}

describe("what a participant of a room open to upstream's web client may do", () => {
  let web: UpstreamStyleClient;
  beforeAll(async () => {
    web = await upstreamClient("other", "w");
  });

  it("reads its own consumer through the JetStream API", async () => {
    const reply = await web.nc.request(`$JS.API.CONSUMER.INFO.${stream}.other_w`, "", { timeout: patienceMs });
    expect(reply.json<{ name: string }>().name).toBe("other_w");
  });

  it.each([
    ["another user's consumer info", `$JS.API.CONSUMER.INFO.${stream}.other_x`],
    ["another room's consumer of the same user id", `$JS.API.CONSUMER.MSG.NEXT.${stream}.keyed_w`],
    ["another consumer's acks", `$JS.ACK.${stream}.keyed_web.1.1.1.1.1`],
    ["the stream list", "$JS.API.STREAM.LIST"],
    ["a consumer of its own making", `$JS.API.CONSUMER.CREATE.${stream}.other_w2`],
    ["its consumer's deletion", `$JS.API.CONSUMER.DELETE.${stream}.other_w`],
    ["another user's worker subject", "sysJsWorker.other.x"],
    ["a KV bucket", "$KV.pnm-rooms.other"],
  ])("is refused a publish on %s (%s)", async (_name, subject) => {
    const refusal = publishRefusal(web.nc, subject);
    web.nc.publish(subject, "x");
    const error = await within(refusal, `refusal of ${subject}`);
    expect(error).toMatchObject({ operation: "publish", subject });
  });

  it.each([
    ["a strict participant's inbox", "_INBOX_strict.s.>"],
    ["pnm's own inbox", `${serverInboxRoot}.>`],
    ["another user's private subject", "sysPrivate.other.x.>"],
    ["another room's chat", "chat.keyed"],
    ["another room's public subject", "sysPublic.keyed"],
    ["the JetStream API", "$JS.API.>"],
    ["everything", ">"],
  ])("is refused a subscription to %s (%s)", async (_name, subject) => {
    const closedWith = await within(web.nc.subscribe(subject).closed, `refusal of ${subject}`);
    expect(closedWith).toBeInstanceOf(PermissionViolationError);
  });

  it("leaves a strict room's participant without _INBOX.> or a consumer, on the same server", async () => {
    const strict = await connectAs(deployment.nats, "strict", "s", await issueToken(deployment.rooms, "strict", "s"));
    open.push(strict);
    const closedWith = await within(strict.subscribe("_INBOX.>").closed, "refusal of _INBOX.>");
    expect(closedWith).toBeInstanceOf(PermissionViolationError);
    await expect(jsm.consumers.info(stream, "strict_s")).rejects.toBeInstanceOf(JetStreamApiError);
  });
});

describe("what a participant of a room open to upstream's web client can read on _INBOX.>", () => {
  it("reads the replies of upstream's web clients in other such rooms, and neither a strict participant's nor pnm's own", async () => {
    const sniffer = await upstreamClient("other", "sniffer");
    const sniffed: Subscription = sniffer.nc.subscribe("_INBOX.>");
    const acks: { stream?: string; seq?: number }[] = [];
    const deliveries: number[] = [];
    void (async () => {
      for await (const m of sniffed) {
        try {
          const ack = m.json<{ stream?: string; seq?: number }>();
          if (typeof ack === "object" && ack && ack.stream) acks.push(ack);
          continue;
        } catch {
          // not JSON: a consumer's delivery
        }
        try {
          deliveries.push(fromBinary(NatsMsgServerToClientSchema, m.data).event);
        } catch {
          // neither
        }
      }
    })();
    await sniffer.nc.flush();

    // A strict participant's JetStream publish: its acknowledgement goes to its own inbox.
    const strict = await connectAs(deployment.nats, "strict", "t", await issueToken(deployment.rooms, "strict", "t"));
    open.push(strict);
    const strictAck = await jetstream(strict).publish(
      "sysJsWorker.strict.t",
      toBinary(
        NatsMsgClientToServerSchema,
        create(NatsMsgClientToServerSchema, { event: NatsMsgClientToServerEvent.PING }),
      ),
    );
    // A web client in another room: its acknowledgement and its PONG (published by pnm into the room stream) go to _INBOX.
    const web = await upstreamClient("keyed", "neighbour");
    const webAck = await web.send(NatsMsgClientToServerEvent.PING);
    await web.next(NatsMsgServerToClientEvent.PONG);

    await waitFor(() => acks.some((a) => a.stream === "sysJsWorker" && a.seq === webAck.seq));
    await waitFor(() => deliveries.includes(NatsMsgServerToClientEvent.PONG));
    await sniffer.nc.flush();
    sniffed.unsubscribe();
    // pnm published that PONG (and the answers to everyone) into pnm-room-stream, and wrote KV: none of its acks were readable.
    expect(acks.filter((a) => a.stream === "pnm-room-stream" || a.stream!.startsWith("KV_"))).toEqual([]);
    expect(acks.some((a) => a.stream === strictAck.stream && a.seq === strictAck.seq)).toBe(false);
  });
});
