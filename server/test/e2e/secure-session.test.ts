import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { applyLiveKitKey, joinSession, type ParticipantSession, type RoomServiceClient } from "@pnm/client";
import { DecryptionError, deriveKeyBytes, deriveLiveKitMediaKeyBytes } from "@pnm/client/e2ee";
import { nodeWebSocket } from "@pnm/client/node";
import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { deriveKeys, ExternalE2EEKeyProvider, KeyProviderEvent } from "livekit-client";
import { TokenVerifier } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/logger.js";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { issueToken, waitFor } from "../support/participants.js";

const livekit = { url: "ws://127.0.0.1:7880", apiKey: "lk-test", apiSecret: randomBytes(32).toString("base64url") };
const logged: string[] = [];
const recordingLogger: Logger = {
  info: (message) => void logged.push(message),
  error: (message, err) =>
    void logged.push(`${message} ${err instanceof Error ? `${err.message} ${err.stack}` : String(err ?? "")}`),
};

let nats: TestNats;
let pnm: TestServer;
let rooms: RoomServiceClient;
let observer: NatsConnection;
/** Every payload in the PNM account, as a party with the server's own NATS privileges sees it. */
const observed: { subject: string; data: Uint8Array }[] = [];
const sessions: ParticipantSession[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  pnm = await startTestServer(nats, testConfig(nats, { livekit }), recordingLogger);
  rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
  observer = await nats.connect();
  observer.subscribe(">", {
    callback: (err, m) => void (err ? undefined : observed.push({ subject: m.subject, data: m.data.slice() })),
  });
  await observer.flush();
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.leave()));
  await pnm?.close();
  await nats?.stop();
});

async function join(roomId: string, userId: string, passphrase?: string): Promise<ParticipantSession> {
  const session = await joinSession({
    baseUrl: pnm.server.url,
    token: await issueToken(rooms, roomId, userId),
    webSocket: nodeWebSocket,
    promptForKey: passphrase === undefined ? undefined : async () => passphrase,
  });
  sessions.push(session);
  return session;
}

function collect<T>(session: ParticipantSession, event: "chat" | "whiteboard" | "data" | "error"): T[] {
  const got: T[] = [];
  session.on(event, (value) => void got.push(value as T));
  return got;
}

const contains = (haystack: Uint8Array, needle: Uint8Array) => Buffer.from(haystack).includes(Buffer.from(needle));
const anywhere = (needle: Uint8Array | string) => {
  const bytes = typeof needle === "string" ? new TextEncoder().encode(needle) : needle;
  return observed.filter((m) => contains(m.data, bytes)).map((m) => m.subject);
};

async function createE2eeRoom(roomId: string, selfInsert: boolean, keyDerivation = KeyDerivation.UNSPECIFIED) {
  return rooms.createRoom({
    roomId,
    metadata: {
      roomTitle: "secure",
      roomFeatures: {
        endToEndEncryptionFeatures: {
          isEnabled: true,
          includedChatMessages: true,
          includedWhiteboard: true,
          enabledSelfInsertEncryptionKey: selfInsert,
          keyDerivation,
        },
      },
    },
  });
}

describe("the secure session flow, server-generated key", () => {
  it("runs the seven steps for two participants; no plaintext crosses NATS", async () => {
    await createE2eeRoom("sealed-server-key", false);
    const alice = await join("sealed-server-key", "alice");
    const bob = await join("sealed-server-key", "bob");
    expect(alice.e2ee).toEqual({ enabled: true, chat: true, whiteboard: true });
    expect(alice.roomSid).toBe(bob.roomSid);

    const bobChats = collect<{ message: string; fromUserId: string }>(bob, "chat");
    const bobBoards = collect<{ message: string }>(bob, "whiteboard");
    const bobData = collect<{ binMessage: Uint8Array }>(bob, "data");
    await alice.sendChat("server-key plaintext chat 4711");
    await alice.sendWhiteboard({ type: "WHITEBOARD_UPDATE", message: "server-key plaintext board 4712" });
    await alice.sendData({ type: "REACTION", binMessage: new TextEncoder().encode("server-key plaintext data 4713") });
    await waitFor(() => bobChats.length && bobBoards.length && bobData.length);
    expect(bobChats[0]).toMatchObject({ message: "server-key plaintext chat 4711", fromUserId: "alice" });
    expect(bobBoards[0]?.message).toBe("server-key plaintext board 4712");
    expect(new TextDecoder().decode(bobData[0]?.binMessage)).toBe("server-key plaintext data 4713");

    for (const text of [
      "server-key plaintext chat 4711",
      "server-key plaintext board 4712",
      "server-key plaintext data 4713",
    ])
      expect(anywhere(text)).toEqual([]);
    const onChat = observed.filter((m) => m.subject === "chat.sealed-server-key");
    expect(onChat.length).toBeGreaterThan(0);
  });

  it("gives LiveKit a token it verifies, and the key provider the room passphrase", async () => {
    const alice = sessions.find((s) => s.roomId === "sealed-server-key" && s.userId === "alice")!;
    expect(alice.media).toMatchObject({ url: livekit.url, enabledE2ee: true, nativeToken: "" });
    const grants = await new TokenVerifier(livekit.apiKey, livekit.apiSecret).verify(alice.media!.token);
    expect(grants.sub).toBe("alice");
    expect(grants.name).toBe("alice");
    expect(grants.video).toMatchObject({
      roomJoin: true,
      room: "sealed-server-key",
      roomAdmin: false,
      canPublish: true,
      canSubscribe: true,
    });

    const provider = new ExternalE2EEKeyProvider();
    const material = new Promise<CryptoKey>((resolve) =>
      provider.on(KeyProviderEvent.SetKey, (info) => resolve(info.key)),
    );
    await applyLiveKitKey(alice, provider);
    const passphrase = alice.liveKitPassphrase();
    expect(passphrase).toMatch(/^[0-9A-Za-z]{32}$/);
    // LiveKit's own derivation from what the provider received equals pnm's documented media key.
    const { encryptionKey } = await deriveKeys(await material, provider.getOptions());
    const ours = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(await deriveLiveKitMediaKeyBytes(passphrase)),
      "AES-GCM",
      false,
      ["encrypt"],
    );
    const iv = new Uint8Array(12);
    const probe = new TextEncoder().encode("same media key");
    const a = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, encryptionKey, probe));
    const b = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, ours, probe));
    expect(Buffer.from(a).toString("hex")).toBe(Buffer.from(b).toString("hex"));
  });
});

describe("the secure session flow, self-inserted passphrase", () => {
  const passphrase = "correct horse battery staple, pnm edition";

  it("exchanges messages; neither the server nor NATS sees the passphrase, a derived key or plaintext", async () => {
    await createE2eeRoom("sealed-own-key", true, KeyDerivation.PBKDF2_600K);
    const alice = await join("sealed-own-key", "alice", passphrase);
    const bob = await join("sealed-own-key", "bob", passphrase);
    const bobChats = collect<{ message: string }>(bob, "chat");
    await alice.sendChat("own-key plaintext chat 9001");
    await waitFor(() => bobChats.length);
    expect(bobChats[0]?.message).toBe("own-key plaintext chat 9001");

    const secrets: [string, Uint8Array | string][] = [
      ["passphrase", passphrase],
      ["plaintext", "own-key plaintext chat 9001"],
      ["message key", await deriveKeyBytes(passphrase, alice.roomSid, KeyDerivation.PBKDF2_600K)],
      ["upstream-scheme key", await deriveKeyBytes(passphrase, alice.roomSid, KeyDerivation.PBKDF2_ROOM_SID)],
      ["media key", await deriveLiveKitMediaKeyBytes(passphrase)],
    ];
    for (const [name, secret] of secrets) {
      expect(anywhere(secret), name).toEqual([]);
      const hex = typeof secret === "string" ? secret : Buffer.from(secret).toString("hex");
      expect(anywhere(hex), `${name} (hex)`).toEqual([]);
      expect(
        logged.filter((line) => line.includes(hex)),
        `${name} in logs`,
      ).toEqual([]);
    }
    expect(alice.verified.enabledSelfInsertEncryptionKey).toBe(true);
    expect(
      JSON.parse(alice.initialData.room!.metadata).room_features.end_to_end_encryption_features.encryption_key,
    ).toBeUndefined();
  });

  it("tells a participant with the wrong passphrase that it cannot read, and shows it nothing", async () => {
    const alice = sessions.find((s) => s.roomId === "sealed-own-key" && s.userId === "alice")!;
    const carol = await join("sealed-own-key", "carol", "not the passphrase");
    const chats = collect(carol, "chat");
    const errors = collect<Error>(carol, "error");
    await alice.sendChat("for the right key only");
    await waitFor(() => errors.length);
    expect(errors[0]).toBeInstanceOf(DecryptionError);
    expect(chats).toEqual([]);
  });

  it("lets a participant who joins late read new messages", async () => {
    const alice = sessions.find((s) => s.roomId === "sealed-own-key" && s.userId === "alice")!;
    const dave = await join("sealed-own-key", "dave", passphrase);
    const chats = collect<{ message: string }>(dave, "chat");
    await alice.sendChat("welcome, latecomer");
    await waitFor(() => chats.length);
    expect(chats[0]?.message).toBe("welcome, latecomer");
  });
});
