// What the client reports for progress displays such as the demo's: the steps of the secure session flow
// (onStep) and the bytes each peer message had on the wire (payload on received messages and on a
// DecryptionError), checked against a real server and what a NATS observer saw.
import type { NatsConnection } from "@nats-io/nats-core";
import {
  DecryptionError,
  joinSession,
  type ParticipantSession,
  type ReceivedChat,
  type SessionStep,
} from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";
import { issueToken, waitFor } from "../support/participants.js";

const deployment = useTestDeployment();
const passphrase = "the room's passphrase";

async function join(roomId: string, userId: string, typed?: string) {
  const steps: SessionStep["step"][] = [];
  const session = await joinSession({
    baseUrl: deployment.pnm.server.url,
    token: await issueToken(deployment.rooms, roomId, userId),
    webSocket: nodeWebSocket,
    promptForKey: typed === undefined ? undefined : async () => typed,
    onStep: (step) => void steps.push(step.step),
  });
  return { session, steps };
}

async function createRoom(roomId: string, e2ee: "off" | "passphrase") {
  await deployment.rooms.createRoom({
    roomId,
    metadata: {
      roomTitle: "hooks",
      roomFeatures: {
        endToEndEncryptionFeatures:
          e2ee === "off"
            ? { isEnabled: false }
            : { isEnabled: true, includedChatMessages: true, enabledSelfInsertEncryptionKey: true },
      },
    },
  });
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

async function observe(subject: string): Promise<{ nc: NatsConnection; seen: Uint8Array[] }> {
  const nc = await deployment.nats.connect();
  const seen: Uint8Array[] = [];
  nc.subscribe(subject, { callback: (_err, m) => void seen.push(m.data.slice()) });
  await nc.flush();
  return { nc, seen };
}

describe("progress and wire bytes for displays", () => {
  it("reports every step in order, the passphrase only where the room asks for one", async () => {
    await createRoom("hooks-steps-sealed", "passphrase");
    await createRoom("hooks-steps-plain", "off");
    const sealed = await join("hooks-steps-sealed", "ann", passphrase);
    const plain = await join("hooks-steps-plain", "ann");
    try {
      expect(sealed.steps).toEqual([
        "verified",
        "passphrase",
        "connected",
        "initial-data",
        "key-imported",
        "media",
        "open",
      ]);
      expect(plain.steps).toEqual(["verified", "connected", "initial-data", "key-imported", "media", "open"]);
    } finally {
      await Promise.all([sealed.session.leave(), plain.session.leave()]);
    }
  });

  it("has the session's end in place when the renewed event fires", async () => {
    await createRoom("hooks-renewal", "off");
    const { session } = await join("hooks-renewal", "ann");
    try {
      const seen: (number | undefined)[] = [];
      session.on("renewed", () => void seen.push(session.sessionExpiresAt()));
      await session.renewToken();
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBeGreaterThan(Date.now() / 1000);
    } finally {
      await session.leave();
    }
  });

  it("hands over the ciphertext NATS carried with each message, and with each that does not decrypt", async () => {
    const roomId = "hooks-wire";
    await createRoom(roomId, "passphrase");
    const observer = await observe(`chat.${roomId}.*`);
    const sessions: ParticipantSession[] = [];
    try {
      const alice = (await join(roomId, "alice", passphrase)).session;
      const bob = (await join(roomId, "bob", passphrase)).session;
      const eve = (await join(roomId, "eve", "a wrong passphrase")).session;
      sessions.push(alice, bob, eve);
      const chats: ReceivedChat[] = [];
      const errors: Error[] = [];
      bob.on("chat", (m) => void chats.push(m));
      eve.on("error", (e) => void errors.push(e));

      await alice.sendChat("only for the right key");
      await waitFor(() => chats.length && errors.length && observer.seen.length);
      expect(chats[0]!.message).toBe("only for the right key");
      expect(hex(chats[0]!.payload)).toBe(hex(observer.seen[0]!));
      expect(Buffer.from(chats[0]!.payload).includes(Buffer.from("only for the right key"))).toBe(false);
      expect(errors[0]).toBeInstanceOf(DecryptionError);
      expect(hex((errors[0] as DecryptionError).payload!)).toBe(hex(observer.seen[0]!));
    } finally {
      await Promise.all(sessions.map((s) => s.leave()));
      await observer.nc.close();
    }
  });
});
