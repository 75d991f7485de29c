// A join verified while the room had a seat, refused at the NATS connect because it filled up meanwhile: NATS tells
// the client only "Authorization Violation", so the session asks VerifyToken, and the join is refused with the
// server's reason. The passphrase prompt, between VerifyToken and the connect, holds the second joiner back.
import { FailureReason, JoinRefusedError, joinSession } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { describe, expect, it } from "vitest";
import { useTestDeployment } from "../support/harness.js";
import { issueToken } from "../support/participants.js";

const deployment = useTestDeployment();

describe("a join refused at the NATS connect", () => {
  it("names the server's reason (ROOM_FULL), not only NATS's refusal", async () => {
    const roomId = "full-at-connect";
    await deployment.rooms.createRoom({
      roomId,
      maxParticipants: 1,
      metadata: {
        roomTitle: "one seat",
        roomFeatures: {
          endToEndEncryptionFeatures: {
            isEnabled: true,
            includedChatMessages: true,
            enabledSelfInsertEncryptionKey: true,
          },
        },
      },
    });
    const join = (userId: string, prompt: () => Promise<string>) =>
      issueToken(deployment.rooms, roomId, userId).then((token) =>
        joinSession({ baseUrl: deployment.pnm.server.url, token, webSocket: nodeWebSocket, promptForKey: prompt }),
      );
    let release!: (passphrase: string) => void;
    let prompted!: () => void;
    const atPrompt = new Promise<void>((resolve) => (prompted = resolve));
    // The second joiner passes VerifyToken while the seat is free, then waits at its prompt.
    const late = join("late", () => {
      prompted();
      return new Promise<string>((resolve) => (release = resolve));
    }).catch((err: unknown) => err);
    await atPrompt;
    const first = await join("first", async () => "passphrase");
    release("passphrase");
    const refused = await late;
    await first.leave();

    expect(refused).toBeInstanceOf(JoinRefusedError);
    expect((refused as JoinRefusedError).reason).toBe(FailureReason.ROOM_FULL);
    // NATS's refusal stays the cause.
    expect(String((refused as JoinRefusedError).cause)).toMatch(/authorization/i);
  });
});
