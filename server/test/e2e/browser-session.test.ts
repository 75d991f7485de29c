import { fileURLToPath } from "node:url";
import { joinSession, type ParticipantSession, type RoomServiceClient } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserPage, bundleScript, openBrowserPage } from "../../../client/test/support/browser-page.js";
import { signedClient } from "../support/clients.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { issueToken, waitFor } from "../support/participants.js";

type PageApi = typeof import("@pnm/client");
declare global {
  // Set by the page script below.
  var pnmBrowser: PageApi;
  var pnmPage: { session?: ParticipantSession; received: string[]; errors: string[] };
}

let nats: TestNats;
let pnm: TestServer;
let browser: BrowserPage;
let rooms: RoomServiceClient;
const passphrase = "a passphrase typed in a browser";

beforeAll(async () => {
  const script = await bundleScript(
    `export { joinSession } from "@pnm/client";`,
    fileURLToPath(new URL("../../../client", import.meta.url)),
    "pnmBrowser",
  );
  browser = await openBrowserPage(`${script}; globalThis.pnmPage = { received: [], errors: [] };`);
  nats = await startTestNats();
  pnm = await startTestServer(nats, testConfig(nats, { corsOrigins: [browser.origin] }));
  rooms = signedClient(pnm.server.url, pnm.config.apiKey, pnm.config.apiSecret, "connect");
});
afterAll(async () => {
  await browser?.close();
  await pnm?.close();
  await nats?.stop();
});

describe("the participant session in headless Chromium", () => {
  it("joins a self-inserted-key room from the page and exchanges encrypted chat with a Node participant", async () => {
    await rooms.createRoom({
      roomId: "browser-room",
      metadata: {
        roomTitle: "B",
        roomFeatures: {
          endToEndEncryptionFeatures: {
            isEnabled: true,
            includedChatMessages: true,
            enabledSelfInsertEncryptionKey: true,
          },
        },
      },
    });
    const pageToken = await issueToken(rooms, "browser-room", "page-user");
    const joined = await browser.page.evaluate(
      async ([baseUrl, token, secret]) => {
        const session = await globalThis.pnmBrowser.joinSession({ baseUrl, token, promptForKey: async () => secret });
        session.on("chat", (m) => void globalThis.pnmPage.received.push(m.message));
        session.on("error", (e) => void globalThis.pnmPage.errors.push(e.name));
        globalThis.pnmPage.session = session;
        return { roomSid: session.roomSid, e2ee: session.e2ee };
      },
      [pnm.server.url, pageToken, passphrase] as const,
    );
    expect(joined.e2ee).toEqual({ enabled: true, chat: true, whiteboard: false });

    const node = await joinSession({
      baseUrl: pnm.server.url,
      token: await issueToken(rooms, "browser-room", "node-user"),
      webSocket: nodeWebSocket,
      promptForKey: async () => passphrase,
    });
    expect(node.roomSid).toBe(joined.roomSid);
    const nodeReceived: string[] = [];
    node.on("chat", (m) => void nodeReceived.push(m.message));

    await browser.page.evaluate(() => globalThis.pnmPage.session!.sendChat("from the browser"));
    await node.sendChat("from node");
    await waitFor(() => nodeReceived.length);
    await waitFor(() => browser.page.evaluate(() => globalThis.pnmPage.received.length));
    expect(nodeReceived).toEqual(["from the browser"]);
    expect(await browser.page.evaluate(() => globalThis.pnmPage.received)).toEqual(["from node"]);
    expect(await browser.page.evaluate(() => globalThis.pnmPage.errors)).toEqual([]);
    await node.leave();
    await browser.page.evaluate(() => globalThis.pnmPage.session!.leave());
  });

  it("is refused by the server's CORS policy from an origin not on the list", async () => {
    const other = await openBrowserPage("");
    try {
      const outcome = await other.page.evaluate(
        (url) =>
          fetch(`${url}/pnm.v1.ParticipantService/VerifyToken`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: "x" },
            body: "{}",
          }).then(
            () => "read",
            () => "blocked",
          ),
        pnm.server.url,
      );
      expect(outcome).toBe("blocked");
    } finally {
      await other.close();
    }
  });
});
