import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  CreateRoomRequestSchema,
  CreateRoomResponseSchema,
  type RoomCreateFeatures,
} from "@pnm/protocol/pnm/v1/create_room_pb";
import { GetJoinTokenRequestSchema } from "@pnm/protocol/pnm/v1/join_token_pb";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "@pnm/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerTarget } from "../src/run/runner.js";
import { parseSegment, signCompact } from "../src/tokens/jwt.js";
import { type ProxiedRequest, type ProxyFault, startFaultyProxy } from "./support/faulty-proxy.js";
import { bodyFormat, rewriteMessage, withBody } from "./support/message-codec.js";
import { resignV2 } from "./support/resign-v2.js";
import { onEveryTransport, runHarness, unexpected } from "./support/run-harness.js";

// One real pnm server; each planted fault is a proxy in front of it. Every
// harness run uses its own room ids, so the runs do not disturb each other.
// The proxy carries the HTTP API only: participants reach NATS directly, so
// the NATS cases run through every proxy too and must pass. Faults of the
// NATS plane itself are planted in broken-nats-plane.test.ts.
let nats: TestNats;
let server: TestServer;
let target: ServerTarget;
const liveKit = { apiKey: "lk-conformance", apiSecret: randomBytes(32).toString("base64url") };
beforeAll(async () => {
  nats = await startTestNats();
  server = await startTestServer(nats, testConfig(nats, { livekit: { url: "ws://127.0.0.1:7880", ...liveKit } }));
  target = { baseUrl: server.server.url, apiKey: server.config.apiKey, apiSecret: server.config.apiSecret, liveKit };
}, 60_000);
afterAll(async () => {
  await server?.close();
  await nats?.stop();
});

describe("the harness against pnm's own server", () => {
  it("passes everything except the listed known failures", async () => {
    const results = await runHarness(target);
    expect(unexpected(results)).toEqual([]);
    expect(results.filter((r) => r.result === "passed").length).toBeGreaterThanOrEqual(500);
    const natsCases = results.filter((r) => /^(nats|renewal|initial-data|e2ee|media)\//.test(r.case));
    expect(natsCases.length).toBeGreaterThanOrEqual(45);
  }, 120_000);
});

interface PlantedFault {
  fault: string;
  plant: (apiSecret: string) => ProxyFault;
  /** Exactly the expanded cases that must fail. */
  failing: string[];
  /** What each of their reasons must say. */
  reason: RegExp;
}

const isCall = (req: ProxiedRequest, restPath: string, rpcPath: string) =>
  req.path === restPath || req.path === rpcPath;

// Upstream declares these with explicit presence, so its merge keeps their false.
const upstreamOptionalToggles = new Set([
  "allowRtmp",
  "allowVirtualBg",
  "allowRaiseHand",
  "autoGenUserId",
  "allowReactions",
]);

/** Upstream's proto.Merge of defaults: an explicit false on a plain bool is lost (docs/security-gaps.md #40). */
function dropExplicitFalse(message: object): void {
  const fields = message as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (value === false && !upstreamOptionalToggles.has(key)) fields[key] = undefined;
    else if (value !== null && typeof value === "object" && "$typeName" in value) dropExplicitFalse(value);
  }
}

function hs256Valid(token: string, apiSecret: string): boolean {
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", apiSecret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature ?? "", "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const plantedFaults: PlantedFault[] = [
  {
    fault: "has no planted fault (the proxy alone changes nothing)",
    plant: () => ({}),
    failing: [],
    reason: /^$/,
  },
  {
    fault: "accepts upper-case hex signatures",
    plant: () => ({
      request: (req) => {
        const signature = req.headers["hash-signature"];
        return signature ? { ...req, headers: { ...req.headers, "hash-signature": signature.toLowerCase() } } : req;
      },
    }),
    failing: onEveryTransport("auth/upper-case-signature"),
    reason: /expected failure SIGNATURE_INVALID, got success/,
  },
  {
    fault: "takes a v2 signature made for another route (binds the body only, as upstream's v1)",
    plant: (apiSecret) => ({ request: (req) => resignV2(req, apiSecret, { anyPath: true }) }),
    failing: onEveryTransport("auth/v2-cross-route-refused"),
    reason: /SIGNATURE_INVALID, got SIGNATURE_REPLAYED/,
  },
  {
    fault: "remembers no v2 nonce",
    plant: (apiSecret) => ({ request: (req) => resignV2(req, apiSecret, { freshNonce: true }) }),
    failing: onEveryTransport("auth/v2-replay-refused", "auth/v2-replayed-create-refused"),
    reason: /expected failure SIGNATURE_REPLAYED, got success/,
  },
  {
    fault: "checks no v2 timestamp against its clock",
    plant: (apiSecret) => ({ request: (req) => resignV2(req, apiSecret, { currentTime: true }) }),
    failing: onEveryTransport(
      "auth/v2-expired-create-changes-nothing",
      "auth/v2-future-timestamp-refused",
      "auth/v2-stale-timestamp-refused",
    ),
    reason: /expected failure SIGNATURE_EXPIRED, got success/,
  },
  {
    fault: "answers malformed JSON with a 500 and a stack trace",
    plant: () => ({
      request: (req) => {
        if (!req.path.startsWith("/auth/room/")) return req;
        try {
          JSON.parse(req.body.toString("utf8"));
          return req;
        } catch (err) {
          const body = JSON.stringify({
            status: false,
            msg: (err as Error).stack,
            status_code: "INTERNAL_SERVER_ERROR",
          });
          return {
            status: 500,
            headers: { "content-type": "application/json" },
            body: Buffer.from(body),
            trailers: {},
          };
        }
      },
    }),
    failing: ["body/empty-json-body/transport:rest", "body/malformed/transport:rest"],
    reason: /expected HTTP 200, got HTTP 500.*leaks internals/,
  },
  {
    fault: "accepts tokens of another kind",
    // A verifier that predates token kinds: any validly signed token counts as an access token.
    plant: (apiSecret) => ({
      request: (req) => {
        const token = req.headers.authorization;
        const [header, payload] = token?.split(".") ?? [];
        const claims = parseSegment(payload ?? "");
        if (!token || !claims || claims.token_kind === "access" || !hs256Valid(token, apiSecret)) return req;
        const relabelled = signCompact(parseSegment(header!)!, { ...claims, token_kind: "access" }, apiSecret, "HS256");
        return { ...req, headers: { ...req.headers, authorization: relabelled } };
      },
    }),
    failing: onEveryTransport("verify/other-token-kind", "verify/upstream-style-token"),
    reason: /expected failure TOKEN_KIND_INVALID, got success/,
  },
  {
    fault: "loses an explicit false as upstream's merge does",
    plant: (apiSecret) => ({
      request: (req) => {
        const format = bodyFormat(req.headers);
        if (!format || !isCall(req, "/auth/room/create", "/pnm.v1.RoomService/CreateRoom")) return req;
        try {
          const body = rewriteMessage(CreateRoomRequestSchema, format, req.body, (m) => {
            const features: RoomCreateFeatures | undefined = m.metadata?.roomFeatures;
            if (features) dropExplicitFalse(features);
          });
          return withBody(req, body, apiSecret);
        } catch {
          return req; // not a CreateRoomRequest: leave it to the server to refuse
        }
      },
    }),
    failing: onEveryTransport("features/explicit-false-kept", "features/recording-off-disables-cloud"),
    reason: /expected false, got true/,
  },
  {
    fault: "returns the E2EE key in the room metadata",
    plant: () => ({
      response: (req, res) => {
        const format = bodyFormat(res.headers);
        if (res.status !== 200 || !format || !isCall(req, "/auth/room/create", "/pnm.v1.RoomService/CreateRoom"))
          return res;
        const leak = (metadata: string) => {
          const parsed = JSON.parse(metadata) as {
            room_features?: { end_to_end_encryption_features?: Record<string, unknown> };
          };
          const e2ee = parsed.room_features?.end_to_end_encryption_features;
          if (e2ee?.is_enabled) e2ee.encryption_key = "KEYKEYKEYKEYKEYKEYKEYKEYKEYKEYKE";
          return JSON.stringify(parsed);
        };
        if (format === "json") {
          const answer = JSON.parse(res.body.toString("utf8")) as Record<string, { metadata?: string } | undefined>;
          const info = answer.room_info ?? answer.roomInfo;
          if (info?.metadata) info.metadata = leak(info.metadata);
          return { ...res, body: Buffer.from(JSON.stringify(answer)) };
        }
        // gRPC errors carry no message: an empty body, or only gRPC-web's trailer frame (flag 0x80).
        if (res.body.length === 0 || (format === "framed" && res.body[0] !== 0)) return res;
        const body = rewriteMessage(CreateRoomResponseSchema, format, res.body, (m) => {
          if (m.roomInfo) m.roomInfo.metadata = leak(m.roomInfo.metadata);
        });
        return { ...res, body };
      },
    }),
    failing: onEveryTransport("features/e2ee-key-not-exposed"),
    reason: /encryption_key: expected no value, got "KEY/,
  },
  {
    fault: "skips the is_presenter validation of join requests",
    plant: (apiSecret) => ({
      request: (req) => {
        const format = bodyFormat(req.headers);
        if (!format || !isCall(req, "/auth/room/getJoinToken", "/pnm.v1.RoomService/GetJoinToken")) return req;
        const body = rewriteMessage(GetJoinTokenRequestSchema, format, req.body, (m) => {
          if (m.userInfo?.userMetadata) m.userInfo.userMetadata.isPresenter = false;
        });
        return withBody(req, body, apiSecret);
      },
    }),
    failing: onEveryTransport("join/presenter-flag-refused"),
    reason: /expected failure INVALID_ARGUMENT, got success/,
  },
];

describe("the harness against deliberately broken servers", () => {
  it.each(plantedFaults)(
    "catches a server that $fault",
    async ({ plant, failing, reason }) => {
      const proxy = await startFaultyProxy(target.baseUrl, plant(target.apiSecret));
      try {
        const failed = unexpected(await runHarness({ ...target, baseUrl: proxy.url }));
        expect(failed.map((r) => r.case).sort()).toEqual(failing);
        for (const result of failed) expect(result.reason, result.case).toMatch(reason);
      } finally {
        await proxy.close();
      }
    },
    120_000,
  );
});
