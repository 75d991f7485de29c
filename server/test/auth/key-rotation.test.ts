import { randomBytes } from "node:crypto";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { createRoomServiceClient, FailureReason, failureReason, type RoomServiceClient } from "@pnm/client";
import { createParticipantClient } from "@pnm/client/protocol";
import { describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { postSigned } from "../support/rest.js";
import { decodeJwtPayload } from "../support/tokens.js";

// Rolling the API secret without downtime (README.md, "Configuration",
// PNM_API_KEYS_FILE): add the new pair, move callers to it, remove the old one.
// Requests flow the whole time and none may fail.
const oldPair = { key: "rotation-old", secret: randomBytes(32).toString("base64url") };
const newPair = { key: "rotation-new", secret: randomBytes(32).toString("base64url") };
const folder = mkdtempSync(join(tmpdir(), "pnm-rotation-"));
const keysFile = join(folder, "api-keys.json");

/** Replaces the keys file at once, as an operator's tooling should (write aside, then rename). */
function writeKeys(...pairs: { key: string; secret: string }[]): void {
  writeFileSync(`${keysFile}.tmp`, JSON.stringify({ keys: pairs }), { mode: 0o600 });
  renameSync(`${keysFile}.tmp`, keysFile);
}
writeKeys(oldPair);

const deployment = useTestDeployment((nats) => testConfig(nats, { apiKey: "", apiSecret: "", apiKeysFile: keysFile }));
const client = (pair: { key: string; secret: string }): RoomServiceClient =>
  createRoomServiceClient({ baseUrl: deployment.pnm.server.url, apiKey: pair.key, apiSecret: pair.secret });

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
const refusal = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (err: unknown) => failureReason(ConnectError.from(err)) ?? "no reason",
  );
const verify = (token: string) =>
  refusal(createParticipantClient({ baseUrl: deployment.pnm.server.url, token: () => token }).verifyToken({}));

describe("rolling the API secret with PNM_API_KEYS_FILE", () => {
  it("accepts old and new pairs during the overlap, refuses the old one after its removal, and fails no request in between", async () => {
    const roomId = "rotation-room";
    await client(oldPair).createRoom({ roomId, metadata: { roomTitle: "Rotation", roomFeatures: {} } });
    const { token: oldToken } = await client(oldPair).getJoinToken({
      roomId,
      userInfo: { name: "Old", userId: "old-user" },
    });
    expect(decodeJwtPayload(oldToken!).iss).toBe(oldPair.key);

    // The callers: signature v2 over Connect and upstream's v1 on the REST route, each with the pair it is told to use.
    let current = oldPair;
    let running = true;
    const failures: string[] = [];
    let answered = 0;
    const caller = async (kind: "v2" | "v1") => {
      while (running) {
        const pair = current;
        try {
          if (kind === "v2") await client(pair).isRoomActive({ roomId });
          else {
            const answer = await postSigned(
              deployment.pnm.server.url,
              "/auth/room/isRoomActive",
              { room_id: roomId },
              pair.key,
              pair.secret,
            );
            if (answer.status !== 200)
              throw new Error(`HTTP ${answer.status} ${answer.headers.get("pnm-failure-reason")}`);
          }
          answered++;
        } catch (err) {
          failures.push(`${kind} with ${pair.key}: ${(err as Error).message}`);
        }
      }
    };
    const callers = Promise.all([caller("v2"), caller("v2"), caller("v1"), caller("v1")]);
    const answeredBy = async (count: number) => {
      const target = answered + count;
      await until(async () => answered >= target, `${count} more requests were answered`);
    };

    try {
      await answeredBy(20);
      // 1. Add the new pair; it becomes the newest, which signs new tokens.
      writeKeys(oldPair, newPair);
      await until(
        async () => (await refusal(client(newPair).isRoomActive({ roomId }))) === undefined,
        "the new pair is accepted",
      );
      await answeredBy(20);
      expect(await refusal(client(oldPair).isRoomActive({ roomId }))).toBeUndefined();
      const { token: newToken } = await client(oldPair).getJoinToken({
        roomId,
        userInfo: { name: "New", userId: "new-user" },
      });
      expect(decodeJwtPayload(newToken!).iss).toBe(newPair.key);
      expect(await verify(oldToken!)).toBeUndefined();
      expect(await verify(newToken!)).toBeUndefined();

      // 2. Move the callers to the new pair, then remove the old one.
      current = newPair;
      await answeredBy(20);
      writeKeys(newPair);
      await until(
        async () => (await refusal(client(oldPair).isRoomActive({ roomId }))) === FailureReason.API_KEY_INVALID,
        "the old pair is refused",
      );
      await answeredBy(20);
      const oldRest = await postSigned(
        deployment.pnm.server.url,
        "/auth/room/isRoomActive",
        { room_id: roomId },
        oldPair.key,
        oldPair.secret,
      );
      expect(oldRest.status).toBe(401);
      expect(oldRest.headers.get("pnm-failure-reason")).toBe("API_KEY_INVALID");
      // Tokens live as long as the pair that signed them is active.
      expect(await verify(oldToken!)).toBe(FailureReason.TOKEN_SIGNATURE_INVALID);
      expect(await verify(newToken!)).toBeUndefined();
    } finally {
      running = false;
      await callers;
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(80);
  }, 30_000);
});
