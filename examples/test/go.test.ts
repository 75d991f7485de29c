import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../../server/test/support/harness.js";
import { run, runExample } from "./run-example.js";

const buildScript = fileURLToPath(new URL("../go/build.sh", import.meta.url));
// The server requires signature v2, so a passing run proves the example signs v2.
const deployment = useTestDeployment((nats) => testConfig(nats, { apiSignature: "v2-only" }));

describe("the Go example (examples/go) against a real server over gRPC", () => {
  let binary = "";
  beforeAll(async () => {
    // The first build compiles protoc-gen-go and gRPC from Debian's sources (about a minute); later ones hit the cache.
    binary = (await run("bash", [buildScript])).trim().split("\n").pop()!;
  }, 600_000);

  it("creates a room, sees it active, gets a join token and verifies it", async () => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const roomId = "go-example-room";
    const { status, result, stderr } = await runExample(
      binary,
      ["-room", roomId, "-user-id", "go-user", "-name", "Gopher"],
      {
        PNM_URL: deployment.pnm.server.url,
        PNM_API_KEY: apiKey,
        PNM_API_SECRET: apiSecret,
      },
    );
    expect(status, stderr).toBe(0);
    expect(result).toMatchObject({
      ok: true,
      roomId,
      created: true,
      roomActive: true,
      tokenIssued: true,
      verify: { status: true, roomId, userId: "go-user", natsWsUrls: deployment.pnm.config.natsWsUrls },
    });
    expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(true);
  });

  it("reports UNAUTHENTICATED with a wrong secret, and creates nothing", async () => {
    const roomId = "go-example-wrong-secret";
    const { status, result } = await runExample(binary, [
      "-url",
      deployment.pnm.server.url,
      "-api-key",
      deployment.pnm.config.apiKey,
      "-api-secret",
      `${deployment.pnm.config.apiSecret}-wrong`,
      "-room",
      roomId,
    ]);
    expect(status).toBe(1);
    expect(result).toMatchObject({
      ok: false,
      step: "CreateRoom",
      code: "UNAUTHENTICATED",
      reason: "SIGNATURE_INVALID",
    });
    expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(false);
  });

  it("signs upstream's v1 when asked, which this v2-only server refuses", async () => {
    const roomId = "go-example-v1";
    const { status, result } = await runExample(binary, [
      "-url",
      deployment.pnm.server.url,
      "-api-key",
      deployment.pnm.config.apiKey,
      "-api-secret",
      deployment.pnm.config.apiSecret,
      "-room",
      roomId,
      "-signature-version",
      "1",
    ]);
    expect(status).toBe(1);
    expect(result).toMatchObject({
      ok: false,
      step: "CreateRoom",
      code: "UNAUTHENTICATED",
      reason: "SIGNATURE_VERSION_REQUIRED",
    });
    expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(false);
  });
});
