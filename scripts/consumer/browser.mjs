// @pnm/client in a web page, as a consumer ships it: bundled with esbuild for
// the browser from the installed package (its dist/, never its sources) and
// run in Debian's headless Chromium, next to a Node participant.
//   node browser.mjs bundle    writes page/bundle.js; fails on any Node built-in
//   node browser.mjs session   the page joins an E2EE room over Connect and
//                              exchanges chat both ways with a Node participant
//   node browser.mjs grpc-web  the page calls VerifyToken over gRPC-web, and
//                              reads a refusal's reason
// Env: PNM_URL, PNM_API_KEY, PNM_API_SECRET; PAGE_URL, the origin that serves
// page/bundle.js under "/" (the server allows it through PNM_CORS_ORIGINS).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { isBuiltin } from "node:module";
import { fileURLToPath } from "node:url";
import { createRoomServiceClient, joinSession } from "@pnm/client";
import { nodeWebSocket } from "@pnm/client/node";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const mode = process.argv[2];
const appDir = fileURLToPath(new URL(".", import.meta.url));
const { PNM_URL: baseUrl, PNM_API_KEY: apiKey, PNM_API_SECRET: apiSecret, PAGE_URL: pageUrl } = process.env;

if (mode === "bundle") {
  const result = await build({
    stdin: {
      contents: [
        `export { joinSession, failureReason, FailureReason } from "@pnm/client";`,
        `export { createParticipantClient } from "@pnm/client/protocol";`,
      ].join("\n"),
      resolveDir: appDir,
      sourcefile: "page-entry.js",
      loader: "js",
    },
    bundle: true,
    format: "iife",
    globalName: "pnm",
    platform: "browser",
    target: "es2022",
    metafile: true,
    outfile: `${appDir}/page/bundle.js`,
    logLevel: "silent",
  });
  const inputs = Object.entries(result.metafile.inputs);
  const ours = inputs.map(([path]) => path).filter((path) => path.includes("@pnm/"));
  assert.ok(
    ours.length > 0 && ours.every((path) => /^node_modules\/@pnm\/(client|protocol)\/dist\//.test(path)),
    `@pnm inputs: ${ours.join(", ")}`,
  );
  // esbuild fails on a node: import it cannot resolve for the browser; check that nothing slipped through anyway.
  const builtins = inputs.map(([path]) => path).filter((path) => path.startsWith("node:") || isBuiltin(path));
  // ("<runtime>" is esbuild's own helper code.)
  const external = inputs.flatMap(([path, input]) =>
    input.imports.filter((i) => i.external && i.path !== "<runtime>").map((i) => `${path} -> ${i.path}`),
  );
  assert.deepEqual(builtins, [], "Node built-ins in the browser bundle");
  assert.deepEqual(external, [], "imports left out of the browser bundle");
  // A package's browser field may replace a built-in with an empty module; name those.
  const emptied = inputs.flatMap(([path, input]) =>
    input.imports
      .filter((i) => i.path.startsWith("(disabled):"))
      .map((i) => `${i.original ?? i.path} (in ${path.replace(/^node_modules\//, "")})`),
  );
  console.log(
    `page/bundle.js: ${inputs.length} inputs, no Node built-ins${emptied.length ? `; emptied by browser fields: ${emptied.join(", ")}` : ""}`,
  );
  process.exit(0);
}

assert.ok(mode === "session" || mode === "grpc-web", "usage: node browser.mjs bundle|session|grpc-web");
const chromiumPath = "/usr/bin/chromium";
assert.ok(existsSync(`${appDir}/page/bundle.js`), "page/bundle.js is missing: run node browser.mjs bundle first");
assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);

const rooms = createRoomServiceClient({ baseUrl, apiKey, apiSecret });
const roomId = `consumer-browser-${mode}-${randomUUID().slice(0, 8)}`;
const tokenFor = async (userId) => (await rooms.getJoinToken({ roomId, userInfo: { name: userId, userId } })).token;

// Without the background-networking flags Chromium keeps dialling hosts this machine cannot reach.
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  // The page's calls to pnm, as "path content-type", to show which protocol went over the wire.
  const calls = [];
  page.on("request", (r) => {
    if (r.url().startsWith(baseUrl) && r.method() === "POST")
      calls.push(`${new URL(r.url()).pathname} ${r.headers()["content-type"]}`);
  });
  const webSockets = [];
  page.on("websocket", (ws) => webSockets.push(ws.url()));
  await page.goto(`${pageUrl}/`);
  assert.equal(
    await page.evaluate(() => typeof globalThis.pnm?.joinSession),
    "function",
    "the bundle defines pnm on the page",
  );

  if (mode === "session") {
    const passphrase = `a passphrase typed in a browser ${roomId}`;
    await rooms.createRoom({
      roomId,
      metadata: {
        roomTitle: "Consumer browser",
        roomFeatures: {
          endToEndEncryptionFeatures: {
            isEnabled: true,
            includedChatMessages: true,
            enabledSelfInsertEncryptionKey: true,
          },
        },
      },
    });
    const joined = await page.evaluate(
      async ({ baseUrl, token, passphrase }) => {
        const session = await globalThis.pnm.joinSession({
          baseUrl,
          token,
          protocol: "connect",
          promptForKey: async () => passphrase,
        });
        globalThis.received = [];
        session.on("chat", (m) => globalThis.received.push(`${m.fromUserId}: ${m.message}`));
        session.on("error", (e) => globalThis.received.push(`error ${e.name}`));
        globalThis.session = session;
        return { roomSid: session.roomSid, e2ee: session.e2ee };
      },
      { baseUrl, token: await tokenFor("page"), passphrase },
    );
    assert.deepEqual(joined.e2ee, { enabled: true, chat: true, whiteboard: false });
    assert.deepEqual(
      calls,
      ["/pnm.v1.ParticipantService/VerifyToken application/json"],
      "the page's calls (Connect, JSON)",
    );
    assert.equal(webSockets.length, 1, "the page's NATS WebSocket");

    const node = await joinSession({
      baseUrl,
      token: await tokenFor("node"),
      webSocket: nodeWebSocket,
      promptForKey: async () => passphrase,
    });
    try {
      assert.equal(node.roomSid, joined.roomSid);
      const nodeReceived = [];
      node.on("chat", (m) => nodeReceived.push(`${m.fromUserId}: ${m.message}`));
      await page.evaluate(() => globalThis.session.sendChat("hello from the page"));
      await node.sendChat("hello from node");
      const deadline = Date.now() + 10_000;
      const pageReceived = () => page.evaluate(() => globalThis.received);
      while ((nodeReceived.length < 1 || (await pageReceived()).length < 1) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(nodeReceived, ["page: hello from the page"]);
      assert.deepEqual(await pageReceived(), ["node: hello from node"]);
    } finally {
      await node.leave();
      await page.evaluate(() => globalThis.session.leave());
    }
    console.log(
      "the page joined over Connect and NATS WebSocket and exchanged end-to-end encrypted chat with a Node participant",
    );
  } else {
    await rooms.createRoom({
      roomId,
      metadata: { roomTitle: "Consumer gRPC-web", roomFeatures: { allowWebcams: false } },
    });
    const answers = await page.evaluate(
      async ({ baseUrl, token }) => {
        const { createParticipantClient, failureReason, FailureReason } = globalThis.pnm;
        const verifyWith = (t) =>
          createParticipantClient({ baseUrl, token: () => t, protocol: "grpc-web" }).verifyToken({
            isProduction: true,
          });
        const verified = await verifyWith(token);
        const refusal = await verifyWith("not-a-token").then(
          () => undefined,
          (err) => err,
        );
        return { roomId: verified.roomId, userId: verified.userId, refusal: FailureReason[failureReason(refusal)] };
      },
      { baseUrl, token: await tokenFor("page") },
    );
    assert.deepEqual(answers, { roomId, userId: "page", refusal: "TOKEN_MALFORMED" });
    assert.deepEqual(
      calls,
      Array(2).fill("/pnm.v1.ParticipantService/VerifyToken application/grpc-web+proto"),
      "the page's calls (gRPC-web, binary)",
    );
    console.log("the page called VerifyToken over gRPC-web, and read a refusal's reason from its trailers");
  }
  assert.deepEqual(pageErrors, [], "errors on the page");
} finally {
  await browser.close();
}
