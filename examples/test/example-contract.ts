import { beforeAll, describe, expect, it } from "vitest";
import { testConfig, useTestDeployment } from "../../server/test/support/harness.js";
import { runExample } from "./run-example.js";

/** How to run one language's example client. */
export interface ExampleClient {
  /** The language, as the test names read it. */
  language: string;
  /** Generates or builds what the client needs; returns the command to run. */
  prepare(): Promise<string>;
  /** Arguments before the example's own flags (a script file, say). */
  baseArgs: string[];
  /** The flag prefix the client's command line uses: "--" (Python) or "-" (Go). */
  flag: "--" | "-";
  /** How long `prepare` may take. */
  prepareTimeoutMs: number;
}

/**
 * What every example client must show against a real server over gRPC: the whole flow with signature v2 (the
 * server refuses v1), a wrong secret refused as UNAUTHENTICATED, and upstream's v1 refused by a v2-only server,
 * with nothing created by a refused call.
 */
export function describeExampleClient(client: ExampleClient): void {
  const deployment = useTestDeployment((nats) => testConfig(nats, { apiSignature: "v2-only" }));
  const name = client.language.toLowerCase();
  let command = "";
  const flags = (values: Record<string, string>) =>
    Object.entries(values).flatMap(([key, value]) => [`${client.flag}${key}`, value]);
  const refusedCreate = async (roomId: string, secret: string, extra: Record<string, string>, reason: string) => {
    const { config, server } = deployment.pnm;
    const args = flags({ url: server.url, "api-key": config.apiKey, "api-secret": secret, room: roomId, ...extra });
    const { status, result } = await runExample(command, [...client.baseArgs, ...args]);
    expect(status).toBe(1);
    expect(result).toMatchObject({ ok: false, step: "CreateRoom", code: "UNAUTHENTICATED", reason });
    expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(false);
  };

  describe(`the ${client.language} example against a real server over gRPC`, () => {
    beforeAll(async () => {
      command = await client.prepare();
    }, client.prepareTimeoutMs);

    it("creates a room, sees it active, gets a join token and verifies it", async () => {
      const { apiKey, apiSecret, natsWsUrls } = deployment.pnm.config;
      const roomId = `${name}-example-room`;
      const userId = `${name}-user`;
      const { status, result, stderr } = await runExample(
        command,
        [...client.baseArgs, ...flags({ room: roomId, "user-id": userId, name: client.language })],
        { PNM_URL: deployment.pnm.server.url, PNM_API_KEY: apiKey, PNM_API_SECRET: apiSecret },
      );
      expect(status, stderr).toBe(0);
      expect(result).toMatchObject({
        ok: true,
        roomId,
        created: true,
        roomActive: true,
        tokenIssued: true,
        verify: { status: true, roomId, userId, natsWsUrls },
      });
      // The server agrees: the room the example created is active.
      expect((await deployment.rooms.isRoomActive({ roomId })).isActive).toBe(true);
    });

    it("reports UNAUTHENTICATED with a wrong secret, and creates nothing", async () => {
      await refusedCreate(
        `${name}-example-wrong-secret`,
        `${deployment.pnm.config.apiSecret}-wrong`,
        {},
        "SIGNATURE_INVALID",
      );
    });

    it("signs upstream's v1 when asked, which this v2-only server refuses", async () => {
      await refusedCreate(
        `${name}-example-v1`,
        deployment.pnm.config.apiSecret,
        { "signature-version": "1" },
        "SIGNATURE_VERSION_REQUIRED",
      );
    });
  });
}
