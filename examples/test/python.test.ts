import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../../server/test/support/harness.js";
import { run, runExample } from "./run-example.js";

// Debian's Python: python3-grpcio and python3-protobuf are installed for it, not for a pyenv python3 on PATH.
const python = "/usr/bin/python3";
const example = (file: string) => fileURLToPath(new URL(`../python/${file}`, import.meta.url));
// The server requires signature v2, so a passing run proves the example signs v2.
const deployment = useTestDeployment((nats) => testConfig(nats, { apiSignature: "v2-only" }));

describe("the Python example (examples/python) against a real server over gRPC", () => {
  beforeAll(async () => {
    await run("bash", [example("generate.sh")]);
  }, 120_000);

  it("creates a room, sees it active, gets a join token and verifies it", async () => {
    const { apiKey, apiSecret } = deployment.pnm.config;
    const roomId = "python-example-room";
    const { status, result, stderr } = await runExample(
      python,
      [example("room_demo.py"), "--room", roomId, "--user-id", "py-user", "--name", "Py"],
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
      verify: { status: true, roomId, userId: "py-user", natsWsUrls: deployment.pnm.config.natsWsUrls },
    });
    // The server agrees: the room the example created is active.
    expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(true);
  });

  it("reports UNAUTHENTICATED with a wrong secret, and creates nothing", async () => {
    const roomId = "python-example-wrong-secret";
    const { status, result } = await runExample(python, [
      example("room_demo.py"),
      "--url",
      deployment.pnm.server.url,
      "--api-key",
      deployment.pnm.config.apiKey,
      "--api-secret",
      `${deployment.pnm.config.apiSecret}-wrong`,
      "--room",
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
    const roomId = "python-example-v1";
    const { status, result } = await runExample(python, [
      example("room_demo.py"),
      "--url",
      deployment.pnm.server.url,
      "--api-key",
      deployment.pnm.config.apiKey,
      "--api-secret",
      deployment.pnm.config.apiSecret,
      "--room",
      roomId,
      "--signature-version",
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
