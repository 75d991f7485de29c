import { create, toBinary } from "@bufbuild/protobuf";
import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { ChatMessageSchema, DataChannelMessageSchema } from "@pnm/protocol/pnm/v1/messages_pb";
import { NatsSubjectsSchema } from "@pnm/protocol/pnm/v1/verify_token_pb";
import { describe, expect, it, vi } from "vitest";
import { DecryptionError } from "../../src/e2ee/errors.js";
import { createRoomKey, type RoomKey } from "../../src/e2ee/room-key.js";
import {
  createPeerChannels,
  type OpenPeerChannelsOptions,
  SenderMismatchError,
} from "../../src/session/peer-channels.js";
import { SessionError } from "../../src/session/session-errors.js";
import { createSessionEmitter, type ReceivedChat, type ReceivedData } from "../../src/session/session-events.js";
import { createSessionState } from "../../src/session/session-state.js";
import { useNatsServer } from "../support/nats-server.js";

const subjects = create(NatsSubjectsSchema, { chat: "chat", whiteboard: "whiteboard", dataChannel: "dataChannel" });
const roomId = "peer-room";
const roomKey = (passphrase = "the room's passphrase") =>
  createRoomKey({ passphrase, roomSid: "RM_peer", scheme: KeyDerivation.SHA256 });
const sealedAll = { chat: true, whiteboard: true };
const encode = (text: string) => new TextEncoder().encode(text);
const nats = useNatsServer();
/** Waits until the bus has delivered whatever is under way, then gives WebCrypto time to open it. */
const settle = async () => {
  await nats.settle();
  await new Promise((resolve) => setTimeout(resolve, 50));
};

interface Options {
  key: RoomKey | undefined;
  e2ee?: OpenPeerChannelsOptions["e2ee"];
  /** False: attached to the bus but not yet open, as during the join. */
  open?: boolean;
}

async function participant(userId: string, options: Options) {
  const state = createSessionState("token");
  const events = createSessionEmitter();
  const shown = {
    chat: [] as ReceivedChat[],
    whiteboard: [] as ReceivedData[],
    data: [] as ReceivedData[],
    error: [] as Error[],
  };
  events.on("chat", (m) => void shown.chat.push(m));
  events.on("whiteboard", (m) => void shown.whiteboard.push(m));
  events.on("data", (m) => void shown.data.push(m));
  events.on("error", (e) => void shown.error.push(e));
  const peers = createPeerChannels({ subjects, roomId, userId, state, events });
  // As the session does: attach, then flush, so the server knows the subscriptions before anything is sent.
  let nc = await nats.connect();
  let detach = peers.attach(nc);
  await nc.flush();
  const open = () =>
    peers.open({
      key: options.key,
      e2ee: options.e2ee ?? sealedAll,
      sender: { name: userId.toUpperCase(), isAdmin: userId === "host" },
      connection: { current: () => nc },
    });
  return {
    state,
    shown,
    open,
    send: options.open === false ? undefined : open(),
    /** As after a reconnect: the channels move to a new connection. */
    async reconnect() {
      detach();
      await nats.kick(nc);
      nc = await nats.connect();
      detach = peers.attach(nc);
      await nc.flush();
    },
  };
}

describe("peer channels", () => {
  it("seal with one participant's key and open with another's: chat, whiteboard and data arrive as sent, and the bus carries no plaintext", async () => {
    const published = await nats.wiretap();
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey() });
    await alice.send!.sendChat("sealed chat 101");
    await alice.send!.sendWhiteboard({ type: "WHITEBOARD_UPDATE", message: "sealed board 102" });
    await alice.send!.sendData({ type: "REACTION", binMessage: encode("sealed data 103") });
    await vi.waitFor(() => expect(bob.shown.chat.length + bob.shown.whiteboard.length + bob.shown.data.length).toBe(3));

    expect(bob.shown.chat[0]).toMatchObject({
      message: "sealed chat 101",
      fromUserId: "alice",
      fromName: "ALICE",
      fromAdmin: false,
    });
    expect(bob.shown.chat[0]!.id).toMatch(/^[0-9a-f]{20}$/);
    expect(bob.shown.whiteboard[0]).toMatchObject({
      type: "WHITEBOARD_UPDATE",
      message: "sealed board 102",
      fromUserId: "alice",
    });
    expect(new TextDecoder().decode(bob.shown.data[0]!.binMessage)).toBe("sealed data 103");
    expect(bob.shown.error).toEqual([]);
    await nats.settle();
    // Each on the sender's own subject, which names it, and a copy on upstream's shared subject.
    expect(published.map((m) => m.subject)).toEqual([
      "chat.peer-room.alice",
      "chat.peer-room",
      "whiteboard.peer-room.alice",
      "whiteboard.peer-room",
      "dataChannel.peer-room.alice",
      "dataChannel.peer-room",
    ]);
    for (const text of ["sealed chat 101", "sealed board 102", "sealed data 103"]) {
      expect(published.some((m) => Buffer.from(m.data).includes(text))).toBe(false);
    }
  });

  it("shows the sender as verified when a message comes on the sender's own subject", async () => {
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey() });
    await alice.send!.sendChat("from alice");
    await alice.send!.sendData({ type: "REACTION", message: "data from alice" });
    await vi.waitFor(() => expect(bob.shown.chat.length + bob.shown.data.length).toBe(2));
    expect(bob.shown.chat[0]!.sender).toEqual({ userId: "alice", verified: true });
    expect(bob.shown.data[0]!.sender).toEqual({ userId: "alice", verified: true });
  });

  it("drops a message on one participant's subject that claims another's name, as SenderMismatchError naming both", async () => {
    const key = await roomKey();
    const bob = await participant("bob", { key });
    const mallory = await nats.connect();
    const forged = (message: string) =>
      key.encrypt(
        toBinary(ChatMessageSchema, create(ChatMessageSchema, { fromUserId: "alice", fromName: "ALICE", message })),
      );
    mallory.publish("chat.peer-room.mallory", await forged("I am alice"));
    mallory.publish(
      "whiteboard.peer-room.mallory",
      await key.encrypt(toBinary(DataChannelMessageSchema, create(DataChannelMessageSchema, { fromUserId: "alice" }))),
    );
    await vi.waitFor(() => expect(bob.shown.error).toHaveLength(2));
    expect(bob.shown.error[0]).toBeInstanceOf(SenderMismatchError);
    expect(bob.shown.error[0]).toMatchObject({ channel: "chat", sender: "mallory", claimed: "alice" });
    expect(bob.shown.error[1]).toMatchObject({ channel: "whiteboard", sender: "mallory", claimed: "alice" });
    expect(bob.shown.chat).toEqual([]);
    expect(bob.shown.whiteboard).toEqual([]);
  });

  it("shows a message on upstream's shared subject with its claimed sender, unverified, and drops pnm clients' copies there", async () => {
    const key = await roomKey();
    const bob = await participant("bob", { key });
    const upstream = await nats.connect();
    const chat = (message: string) =>
      key.encrypt(toBinary(ChatMessageSchema, create(ChatMessageSchema, { fromUserId: "carol", message })));
    // The copy a pnm client publishes for upstream's clients of what bob reads on carol's own subject.
    upstream.publish("chat.peer-room", await chat("relayed copy"), { headers: { "Pnm-Sender": "carol" } });
    upstream.publish("chat.peer-room", await chat("from an upstream client"));
    await vi.waitFor(() => expect(bob.shown.chat).toHaveLength(1));
    // One connection's messages arrive in order, and a relayed copy is dropped on arrival: had it been shown, it would be first.
    expect(bob.shown.chat[0]).toMatchObject({
      message: "from an upstream client",
      fromUserId: "carol",
      sender: { userId: "carol", verified: false },
    });
    expect(bob.shown.error).toEqual([]);
  });

  it("does not show a participant its own messages", async () => {
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey() });
    await alice.send!.sendChat("mine");
    await vi.waitFor(() => expect(bob.shown.chat).toHaveLength(1));
    await settle();
    expect(alice.shown).toEqual({ chat: [], whiteboard: [], data: [], error: [] });
  });

  it("gives a participant with another key a DecryptionError for each message, and shows it nothing", async () => {
    const alice = await participant("alice", { key: await roomKey() });
    const carol = await participant("carol", { key: await roomKey("a wrong passphrase") });
    await alice.send!.sendChat("for the right key only");
    await alice.send!.sendData({ type: "REACTION", binMessage: encode("also sealed") });
    await vi.waitFor(() => expect(carol.shown.error).toHaveLength(2));
    expect(carol.shown.error.every((e) => e instanceof DecryptionError)).toBe(true);
    expect(carol.shown.chat).toEqual([]);
    expect(carol.shown.data).toEqual([]);
  });

  it("turns garbled, truncated, altered and unsealed messages into DecryptionError events, and shows nothing", async () => {
    const key = await roomKey();
    const bob = await participant("bob", { key });
    const intruder = await nats.connect();
    const sealed = await key.encrypt(
      toBinary(ChatMessageSchema, create(ChatMessageSchema, { fromUserId: "mallory", message: "forged" })),
    );
    const altered = sealed.slice();
    altered[altered.length - 20]! ^= 1;
    const unsealed = toBinary(
      ChatMessageSchema,
      create(ChatMessageSchema, { fromUserId: "mallory", message: "not sealed" }),
    );
    for (const bytes of [
      crypto.getRandomValues(new Uint8Array(64)),
      sealed.subarray(0, sealed.length - 1),
      altered,
      unsealed,
      new Uint8Array(3),
    ]) {
      intruder.publish("chat.peer-room", bytes);
    }
    await vi.waitFor(() => expect(bob.shown.error).toHaveLength(5));
    expect(bob.shown.error.every((e) => e instanceof DecryptionError)).toBe(true);
    expect(bob.shown.chat).toEqual([]);
  });

  it("sends chat and whiteboard in plain when the room seals only data, and still reads them", async () => {
    const published = await nats.wiretap();
    const e2ee = { chat: false, whiteboard: false };
    const alice = await participant("alice", { key: await roomKey(), e2ee });
    const bob = await participant("bob", { key: await roomKey(), e2ee });
    await alice.send!.sendChat("plain chat 201");
    await alice.send!.sendData({ type: "REACTION", binMessage: encode("sealed data 202") });
    await vi.waitFor(() => expect(bob.shown.chat.length + bob.shown.data.length).toBe(2));
    expect(bob.shown.chat[0]?.message).toBe("plain chat 201");
    await nats.settle();
    // Each message twice: on alice's own subject and as the copy on the shared one.
    expect(published.map((m) => m.subject)).toEqual([
      "chat.peer-room.alice",
      "chat.peer-room",
      "dataChannel.peer-room.alice",
      "dataChannel.peer-room",
    ]);
    for (const m of published.slice(0, 2)) expect(Buffer.from(m.data).includes("plain chat 201")).toBe(true);
    for (const m of published.slice(2)) expect(Buffer.from(m.data).includes("sealed data 202")).toBe(false);
  });

  it("without a room key reads protobuf as it is, and reports bytes that are none as DecryptionError with the cause", async () => {
    const published = await nats.wiretap();
    const alice = await participant("alice", { key: undefined });
    const bob = await participant("bob", { key: undefined });
    await alice.send!.sendChat("no e2ee here");
    await vi.waitFor(() => expect(bob.shown.chat).toHaveLength(1));
    await nats.settle();
    expect(Buffer.from(published[0]!.data).includes("no e2ee here")).toBe(true);
    (await nats.connect()).publish("chat.peer-room", new Uint8Array([0xff, 0xff, 0xff]));
    await vi.waitFor(() => expect(bob.shown.error).toHaveLength(1));
    expect(bob.shown.error[0]).toBeInstanceOf(DecryptionError);
    expect(bob.shown.error[0]!.cause).toBeInstanceOf(Error);
  });

  it("drops what arrives before it is opened: nothing could be read yet", async () => {
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey(), open: false });
    await alice.send!.sendChat("too early");
    await settle();
    bob.open();
    await alice.send!.sendChat("in time");
    await vi.waitFor(() => expect(bob.shown.chat).toHaveLength(1));
    expect(bob.shown.chat[0]?.message).toBe("in time");
    expect(bob.shown.error).toEqual([]);
  });

  it("keeps reading and sending after moving to a new connection", async () => {
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey() });
    await bob.reconnect();
    await alice.send!.sendChat("to the new connection");
    await bob.send!.sendChat("from the new connection");
    await vi.waitFor(() => expect([bob.shown.chat.length, alice.shown.chat.length]).toEqual([1, 1]));
    expect(alice.shown.chat[0]?.message).toBe("from the new connection");
  });

  it("once the session has ended shows nothing and refuses to send", async () => {
    const published = await nats.wiretap();
    const alice = await participant("alice", { key: await roomKey() });
    const bob = await participant("bob", { key: await roomKey() });
    await bob.state.end();
    await alice.send!.sendChat("after bob left");
    await settle();
    expect(bob.shown.chat).toEqual([]);
    await expect(bob.send!.sendChat("too late")).rejects.toThrow(SessionError);
    await nats.settle();
    // Alice's message on her own subject and its copy on the shared one; nothing of bob's.
    expect(published.map((m) => m.subject)).toEqual(["chat.peer-room.alice", "chat.peer-room"]);
  });
});
