import { randomBytes } from "node:crypto";
import { startTestNats, testConfig } from "@pnm/server/testing";
import { describe, expect, it } from "vitest";
import { parseSegment } from "../src/tokens/jwt.js";
import { type PlantedParts, startPlantedServer } from "./support/composed-server.js";
import { runHarness, unexpected } from "./support/run-harness.js";

interface PlantedNatsFault {
  fault: string;
  plant: PlantedParts;
  /** Exactly the expanded cases that must fail. */
  failing: string[];
  /** What each of their reasons must say. */
  reason: RegExp;
}

const onConnectJson = (...names: string[]) => names.map((n) => `${n}/transport:connect-json`).sort();

const plantedFaults: PlantedNatsFault[] = [
  {
    fault: "has no planted fault (the composition alone changes nothing)",
    plant: {},
    failing: [],
    reason: /^$/,
  },
  {
    fault: "admits connections beyond the room's participant limit",
    // Admission sees every room as unlimited, so it counts no seat: VerifyToken, which reads the room's count,
    // finds the room never full either.
    plant: {
      admissionParticipants: (real) => ({
        ...real,
        admit: async (token) => {
          const admission = await real.admit(token);
          return { ...admission, room: { ...admission.room, maxParticipants: 0 } };
        },
      }),
    },
    failing: [
      ...onConnectJson(
        "e2ee/full-room-refuses-session",
        "nats/full-room-refused",
        "nats/simultaneous-connects-respect-limit",
        "waiting/approval-respects-limit",
      ),
      ...["connect-json", "connect-proto", "grpc", "grpc-web", "rest"].map((t) => `verify/room-full/transport:${t}`),
    ].sort(),
    reason:
      /expected NATS to refuse b's connection, but it was admitted|expected exactly 3 of 12 simultaneous connects admitted, got 12 |ROOM_FULL/,
  },
  {
    fault: "lets every participant subscribe to the shared _INBOX.>, as upstream",
    plant: {
      permissions: (own) => (roomId, userId) => {
        const permissions = own(roomId, userId);
        return { ...permissions, sub: { allow: [...permissions.sub.allow, "_INBOX.>"] } };
      },
    },
    failing: onConnectJson("nats/shared-inbox-refused"),
    reason: /expected the server to refuse a's subscription to _INBOX\.>, but it was accepted/,
  },
  {
    fault: "lets a participant publish peer messages on everyone's subjects of its room, in anyone's name",
    plant: {
      permissions: (own) => (roomId, userId) => {
        const permissions = own(roomId, userId);
        const everyones = ["chat", "whiteboard", "dataChannel"].map((root) => `${root}.${roomId}.*`);
        return { ...permissions, pub: { allow: [...permissions.pub.allow, ...everyones] } };
      },
    },
    failing: onConnectJson("nats/own-peer-subjects"),
    reason: /expected the server to refuse a's publish on (chat|whiteboard|dataChannel)\.[^.]+\.b, but it was accepted/,
  },
  {
    fault: "never closes a connection (removal and room end only notify, as upstream)",
    plant: { kicker: () => ({ kick: async () => undefined }) },
    failing: onConnectJson(
      "nats/block-disconnects",
      "nats/demotion-disconnects",
      "nats/duplicate-connection-replaced",
      "nats/end-room-disconnects-all",
      "nats/removal-disconnects",
      "nats/session-ended-notice",
      "waiting/admin-approves-over-nats",
      "waiting/approval-promotes",
      "waiting/approval-respects-limit",
      "waiting/denial-ends-session",
    ),
    reason: /expected a's connection to be closed within 1000 ms, but it is still open/,
  },
  {
    fault: "renews a token for whoever it names, not for the connection that asks",
    plant: {
      renewal: (real) => ({
        renew: (token, connection) => {
          const claims = parseSegment(token.split(".")[1] ?? "");
          const named =
            typeof claims?.room_id === "string" && typeof claims.sub === "string"
              ? { roomId: claims.room_id, userId: claims.sub }
              : connection;
          return real.renew(token, named);
        },
      }),
    },
    failing: onConnectJson("renewal/other-rooms-token-refused", "renewal/other-users-token-refused"),
    reason: /expected a refusal with RenewalFailure TOKEN_CLAIMS_INVALID, got RESP_RENEW_PNM_TOKEN with msg "ey/,
  },
];

describe("the harness against servers with a broken NATS plane", () => {
  it.each(plantedFaults)(
    "catches a server that $fault",
    async ({ plant, failing, reason }) => {
      const nats = await startTestNats();
      const liveKit = { apiKey: "lk-conformance", apiSecret: randomBytes(32).toString("base64url") };
      const config = testConfig(nats, { livekit: { url: "ws://127.0.0.1:7880", ...liveKit } });
      const server = await startPlantedServer(nats, config, plant);
      try {
        const results = await runHarness({
          baseUrl: server.url,
          apiKey: config.apiKey,
          apiSecret: config.apiSecret,
          liveKit,
        });
        expect(
          results.some((r) => r.case.startsWith("media/participant-token/")),
          "LiveKit cases ran",
        ).toBe(true);
        const failed = unexpected(results);
        expect(failed.map((r) => r.case).sort()).toEqual(failing);
        for (const result of failed) expect(result.reason, result.case).toMatch(reason);
      } finally {
        await server.close();
        await nats.stop();
      }
    },
    180_000,
  );
});
