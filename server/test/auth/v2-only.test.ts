import { ConnectError } from "@connectrpc/connect";
import { createRoomServiceClient, FailureReason, failureReason } from "@pnm/client";
import { createNodeHttp2Client } from "@pnm/client/node";
import { signV2 } from "@pnm/client/protocol";
import { PlugNmeet } from "plugnmeet-sdk-js";
import { describe, expect, it } from "vitest";
import { rpcProtocols, signedClient } from "../support/clients.js";
import { testConfig, useTestDeployment } from "../support/harness.js";
import { postRaw, postSigned } from "../support/rest.js";

// A server that requires signature v2 (PNM_API_SIGNATURE=v2-only): a server
// setting, so the conformance cases, which run against default servers,
// cannot see it.
const deployment = useTestDeployment((nats) => testConfig(nats, { apiSignature: "v2-only" }));

describe("PNM_API_SIGNATURE=v2-only", () => {
  it.each(rpcProtocols)("serves the client SDK's default signature (v2) over %s", async (protocol) => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const rooms = signedClient(deployment.pnm.server.url, apiKey, apiSecret, protocol);
    const roomId = `v2-only-${protocol}`;
    expect((await rooms.createRoom({ roomId, metadata: { roomTitle: "v2", roomFeatures: {} } })).status).toBe(true);
    expect((await rooms.isRoomActive({ roomId })).isActive).toBe(true);
  });

  it("serves PNM-SIGNATURE on upstream's REST routes", async () => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const body = JSON.stringify({ room_id: "v2-only-rest" });
    const signature = await signV2(apiSecret, {
      method: "POST",
      path: "/auth/room/isRoomActive",
      timestamp: Math.floor(Date.now() / 1000),
      nonce: "v2-only-rest-nonce-0001",
      message: new TextEncoder().encode(body),
    });
    const answer = await postRaw(deployment.pnm.server.url, "/auth/room/isRoomActive", body, {
      "API-KEY": apiKey,
      "PNM-SIGNATURE": signature,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: true, is_active: false });
  });

  it("refuses HASH-SIGNATURE alone on REST with 401 and SIGNATURE_VERSION_REQUIRED", async () => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const answer = await postSigned(
      deployment.pnm.server.url,
      "/auth/room/isRoomActive",
      { room_id: "v2-only-rest" },
      apiKey,
      apiSecret,
    );
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ status: false, status_code: "INVALID_TOKEN_OR_SIGNATURE" });
    expect(answer.headers.get("pnm-failure-reason")).toBe("SIGNATURE_VERSION_REQUIRED");
  });

  it.each(rpcProtocols)(
    "refuses the client SDK's v1 signature over %s as SIGNATURE_VERSION_REQUIRED",
    async (protocol) => {
      const { apiKey, apiSecret } = deployment.pnm.config;
      const http2 = protocol === "grpc" ? createNodeHttp2Client(deployment.pnm.server.url) : undefined;
      try {
        const v1 = createRoomServiceClient({
          baseUrl: deployment.pnm.server.url,
          apiKey,
          apiSecret,
          protocol,
          httpClient: http2?.httpClient,
          signatureVersion: 1,
        });
        const err = await v1.isRoomActive({ roomId: "v2-only-v1" }).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(err && failureReason(err)).toBe(FailureReason.SIGNATURE_VERSION_REQUIRED);
      } finally {
        http2?.close();
      }
    },
  );

  it("says which header is missing when there is none", async () => {
    const answer = await postRaw(deployment.pnm.server.url, "/auth/room/isRoomActive", "{}", {
      "API-KEY": deployment.pnm.config.apiKey,
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      status: false,
      msg: "Missing PNM-SIGNATURE header.",
      status_code: "MISSING_REQUIRED_PARAMETER",
    });
  });

  it("refuses the published plugnmeet-sdk-js, which signs v1 only", async () => {
    const sdk = new PlugNmeet(deployment.pnm.server.url, deployment.pnm.config.apiKey, deployment.pnm.config.apiSecret);
    expect(await sdk.isRoomActive({ room_id: "v2-only-sdk" })).toMatchObject({ status: false });
  });
});
