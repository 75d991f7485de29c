// The in-process nats-server and pnm server come from src/testing (published as
// `@pnm/server/testing` for the conformance harness's tests); this file adds
// the vitest lifecycle and a signed client.
import type { RoomServiceClient } from "@pnm/client";
import { afterAll, beforeAll } from "vitest";
import type { PnmConfig } from "../../src/config.js";
import {
  localNatsServerBinary,
  startTestNats,
  startTestServer,
  type TestNats,
  type TestServer,
  testConfig,
} from "../../src/testing/index.js";
import { signedClient } from "./clients.js";

export { localNatsServerBinary, startTestNats, startTestServer, type TestNats, type TestServer, testConfig };

export interface TestDeployment {
  readonly nats: TestNats;
  readonly pnm: TestServer;
  /** A signed RoomService client over Connect. */
  readonly rooms: RoomServiceClient;
}

/**
 * One nats-server and one pnm server for the calling test file: started in
 * its beforeAll, stopped in its afterAll.
 */
export function useTestDeployment(
  configure: (nats: TestNats) => PnmConfig = (nats) => testConfig(nats),
): TestDeployment {
  let deployment: { nats: TestNats; pnm: TestServer; rooms: RoomServiceClient } | undefined;
  beforeAll(async () => {
    const nats = await startTestNats();
    const pnm = await startTestServer(nats, configure(nats));
    deployment = { nats, pnm, rooms: signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect") };
  });
  afterAll(async () => {
    await deployment?.pnm.close();
    await deployment?.nats.stop();
  });
  const started = () => {
    if (!deployment) throw new Error("the test deployment is used before beforeAll ran");
    return deployment;
  };
  return {
    get nats() {
      return started().nats;
    },
    get pnm() {
      return started().pnm;
    },
    get rooms() {
      return started().rooms;
    },
  };
}
