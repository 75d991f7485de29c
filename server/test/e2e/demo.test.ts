// The demo app (demo/) in Debian's headless Chromium, served by pnm in dev mode: an organizer page creates
// an end-to-end encrypted room with a self-inserted passphrase, participant pages join through the
// secure session flow and chat, the wire panel and a NATS observer see ciphertext only, a wrong
// passphrase shows the decryption error, and removal and the room's end show on the pages.
// The pages run @pnm/client's dist/: `npm test` builds it first (run `npx tsc -b tsconfig.build.json`
// before running this file alone).
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../../client/test/support/browser-page.js";
import { buildDemo } from "../../../demo/build.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";
import { waitFor } from "../support/participants.js";

const screenshots = fileURLToPath(new URL("../../../test-results/demo/", import.meta.url));
const roomId = "demo-e2e";
const passphrase = "correct horse battery staple";
const plaintexts = ["hello from alice, sealed in her browser", "bob answers, sealed in his"];
const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"]);
// Bounded waits for what the pages show: generous for a loaded 2-core machine, never a timing assertion.
const shown = { timeout: 30_000 };
/** The dev-routes server's cap on wire streams (`PNM_DEMO_WIRE_STREAMS`), below the default of 16. */
const wireStreams = 3;

let nats: TestNats;
let pnm: TestServer;
let browser: Browser;
let observer: NatsConnection;
const observed: Uint8Array[] = [];
/** Every page's console errors, uncaught exceptions and requested URLs, by page name. */
const problems: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  const demoDir = await mkdtemp(join(tmpdir(), "pnm-demo-"));
  await Promise.all([buildDemo(demoDir), mkdir(screenshots, { recursive: true })]);
  nats = await startTestNats();
  pnm = await startTestServer(nats, testConfig(nats, { devMode: true, demoDir }));
  observer = await nats.connect();
  for (const subject of [`chat.${roomId}`, `chat.${roomId}.*`])
    observer.subscribe(subject, { callback: (_err, m) => void observed.push(m.data) });
  await observer.flush();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await pnm?.close();
  await nats?.stop();
});

/** A page of its own browser context (a person of their own), watched for console errors and requests. */
async function openPage(name: string, url: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("console", (m) => void (m.type() === "error" && problems.push(`${name}: console: ${m.text()}`)));
  page.on("pageerror", (e) => void problems.push(`${name}: uncaught: ${e.message}`));
  page.on("request", (r) => void requested.push(r.url()));
  page.on("websocket", (ws) => void requested.push(ws.url()));
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'self'");
  return page;
}

async function joinAs(name: string, link: string, typed: string): Promise<Page> {
  const page = await openPage(name, link);
  await page.locator("#passphrase").waitFor(shown);
  await page.fill("#passphrase", typed);
  await page.click("#passphrase-submit");
  await page.locator('[data-step="open"][data-state="done"]').waitFor(shown);
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  const before = await page.locator(".message.own").count();
  await page.fill("#chat-text", text);
  await page.click("#chat-send");
  await page.locator(".message.own").nth(before).waitFor(shown);
}

const decode = (base64: string) => new Uint8Array(Buffer.from(base64, "base64"));
/** Whether `bytes` hold `text`'s UTF-8 anywhere. */
const carries = (bytes: Uint8Array, text: string) => Buffer.from(bytes).includes(Buffer.from(text, "utf8"));

describe("the demo app, in dev mode, in headless Chromium", () => {
  it("walks organizer and participants through an end-to-end encrypted room", { timeout: 180_000 }, async () => {
    const organizer = await openPage("organizer", `${pnm.server.url}/demo/`);
    await organizer.fill("#room-id", roomId);
    await organizer.selectOption("#e2ee", "passphrase");
    await organizer.click("#create-room");
    await organizer.locator('#room-state[data-state="active"]').waitFor(shown);
    await organizer.locator('#wire-status[data-state="live"]').waitFor(shown);

    const invite = async (name: string) => {
      const count = await organizer.locator(".participant").count();
      await organizer.fill("#participant-name", name);
      await organizer.click("#invite");
      const item = organizer.locator(".participant").nth(count);
      await item.waitFor(shown);
      return {
        link: await item.locator(".join-link").inputValue(),
        userId: (await item.getAttribute("data-user-id"))!,
      };
    };
    const [aliceInvite, bobInvite, malloryInvite] = [
      await invite("Alice"),
      await invite("Bob"),
      await invite("Mallory"),
    ];
    expect(aliceInvite.link).toMatch(new RegExp(`^${pnm.server.url}/demo/join\\.html#token=`));

    const alice = await joinAs("alice", aliceInvite.link, passphrase);
    const bob = await joinAs("bob", bobInvite.link, passphrase);
    const mallory = await joinAs("mallory", malloryInvite.link, "a passphrase that is not the room's");
    // Each step of the flow lit up, the granted subjects are listed, and the media step says why there is none.
    for (const step of ["verified", "passphrase", "connected", "initial-data", "key-imported", "media", "open"])
      expect(await alice.locator(`[data-step="${step}"]`).getAttribute("data-state")).toBe("done");
    await alice.locator("#grants").waitFor(shown);
    expect(await alice.locator("#grant-lists").textContent()).toContain(`chat.${roomId}.${aliceInvite.userId}`);
    expect(await alice.locator('[data-step="media"] .detail').textContent()).toContain("media unavailable");

    await say(alice, plaintexts[0]!);
    await say(bob, plaintexts[1]!);
    const bobSaw = bob.locator(".message.received").filter({ hasText: plaintexts[0]! });
    const aliceSaw = alice.locator(".message.received").filter({ hasText: plaintexts[1]! });
    await Promise.all([bobSaw.waitFor(shown), aliceSaw.waitFor(shown)]);
    // Each received message shows the plaintext this browser decrypted next to the ciphertext NATS carried.
    expect(await bobSaw.locator(".plaintext").textContent()).toBe(plaintexts[0]);
    expect(await aliceSaw.locator(".plaintext").textContent()).toBe(plaintexts[1]);
    const bobCipher = decode((await bobSaw.locator(".ciphertext").getAttribute("data-payload"))!);
    const aliceCipher = decode((await aliceSaw.locator(".ciphertext").getAttribute("data-payload"))!);
    expect(carries(bobCipher, plaintexts[0]!)).toBe(false);
    expect(carries(aliceCipher, plaintexts[1]!)).toBe(false);

    // The wrong passphrase reads nothing: two decryption errors, no text.
    await mallory.locator(".message.undecryptable").nth(1).waitFor(shown);
    expect(await mallory.locator(".message.undecryptable .error").first().textContent()).toContain("DecryptionError");
    expect(await mallory.locator(".plaintext").count()).toBe(0);
    const malloryText = (await mallory.locator("#messages").textContent())!;
    for (const text of plaintexts) expect(malloryText).not.toContain(text);

    // The wire panel and the test's own NATS observer saw each message on the sender's subject and on the
    // shared one: ciphertext, the very bytes the participants' pages show, never the text.
    await organizer.locator(".wire-item").nth(3).waitFor(shown);
    const wire = await organizer
      .locator(".wire-item")
      .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.payload!));
    await waitFor(() => observed.length >= 4, shown.timeout);
    for (const payload of [...wire.map(decode), ...observed]) {
      for (const text of plaintexts) expect(carries(payload, text)).toBe(false);
    }
    const wireSet = new Set(wire);
    expect(wireSet.has(Buffer.from(bobCipher).toString("base64"))).toBe(true);
    expect(wireSet.has(Buffer.from(aliceCipher).toString("base64"))).toBe(true);
    expect(observed.map((bytes) => Buffer.from(bytes).toString("base64"))).toEqual(
      expect.arrayContaining([...wireSet]),
    );

    await organizer.screenshot({ path: join(screenshots, "organizer.png"), fullPage: true });
    await alice.screenshot({ path: join(screenshots, "participant.png"), fullPage: true });
    await mallory.screenshot({ path: join(screenshots, "participant-wrong-passphrase.png"), fullPage: true });

    // Renewal shows: a new token, counted.
    await alice.click("#renew");
    await alice.locator("#renewals", { hasText: "1" }).waitFor(shown);
    expect(await alice.locator("#session-end").textContent()).not.toBe("–");

    // Removal and blocking end Bob's and Mallory's sessions, with the reason shown.
    await organizer.locator(`.participant[data-user-id="${bobInvite.userId}"] button[data-action="remove"]`).click();
    await bob.locator('body[data-ended="RemovedError"]').waitFor(shown);
    expect(await bob.locator("#ended").textContent()).toContain("removed by the organizer");
    await bob.screenshot({ path: join(screenshots, "participant-removed.png"), fullPage: true });
    await organizer.locator(`.participant[data-user-id="${malloryInvite.userId}"] button[data-action="block"]`).click();
    await mallory.locator('body[data-ended="BlockedError"]').waitFor(shown);
    expect(await mallory.locator("#ended").textContent()).toContain("blocked by the organizer");

    // Ending the room ends the others'.
    await organizer.click("#end-room");
    await organizer.locator('#room-state[data-state="ended"]').waitFor(shown);
    await alice.locator('body[data-ended="RoomEndedError"]').waitFor(shown);
    expect(await alice.locator("#ended").textContent()).toContain("ended the room");
    await alice.screenshot({ path: join(screenshots, "participant-room-ended.png"), fullPage: true });

    // On a phone: one column, nothing wider than the screen.
    await alice.setViewportSize({ width: 390, height: 844 });
    expect(await alice.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await alice.screenshot({ path: join(screenshots, "participant-phone.png"), fullPage: true });

    const phone = await openPage("organizer-phone", `${pnm.server.url}/demo/`, { width: 390, height: 844 });
    expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await phone.screenshot({ path: join(screenshots, "organizer-phone.png"), fullPage: true });

    expect(problems).toEqual([]);
    const offMachine = requested.filter((url) => !loopbackHosts.has(new URL(url).hostname));
    expect(offMachine).toEqual([]);
    expect(requested.length).toBeGreaterThan(0);
  });

  it("admits a participant from the waiting room of a room with a server-generated key", {
    timeout: 120_000,
  }, async () => {
    const organizer = await openPage("organizer-2", `${pnm.server.url}/demo/`);
    await organizer.fill("#room-id", "demo-waiting");
    await organizer.check("#waiting-room");
    await organizer.selectOption("#e2ee", "server");
    await organizer.click("#create-room");
    await organizer.locator('#room-state[data-state="active"]').waitFor(shown);
    await organizer.fill("#participant-name", "Carol");
    await organizer.click("#invite");
    const invited = organizer.locator(".participant").first();
    await invited.waitFor(shown);

    const carol = await openPage("carol", await invited.locator(".join-link").inputValue());
    // No passphrase to type: the server hands the key over once the organizer admits her.
    await carol.locator('[data-step="passphrase"][data-state="skipped"]').waitFor(shown);
    await carol.locator('[data-step="initial-data"][data-state="active"]', { hasText: "waiting room" }).waitFor(shown);
    await invited.locator('button[data-action="admit"]').click();
    await carol.locator('[data-step="open"][data-state="done"]').waitFor(shown);
    expect(await carol.locator('[data-step="key-imported"] .detail').textContent()).toContain("room key imported");
    expect(problems).toEqual([]);
  });

  it("signs RoomService requests only, refuses bad input, and serves nothing outside dev mode", async () => {
    // A dev-mode server of its own, without pages: the demo's open wire streams are not counted here.
    const dev = await startTestServer(nats, testConfig(nats, { devMode: true, demoWireStreams: wireStreams }));
    try {
      await checkDevRoutes(dev);
    } finally {
      await dev.close();
    }
    const production = await startTestServer(nats, testConfig(nats, { demoDir: pnm.config.demoDir }));
    try {
      for (const path of ["/demo/", "/demo/join.html", "/demo/api/sign", "/demo/api/wire?room=x"]) {
        expect((await fetch(`${production.server.url}${path}`)).status, path).toBe(404);
      }
    } finally {
      await production.close();
    }
  });
});

/** The dev routes' answers on `dev`, a dev-mode server: RoomService routes signed, anything else refused. */
async function checkDevRoutes(dev: TestServer): Promise<void> {
  const sign = (body: unknown) =>
    fetch(`${dev.server.url}/demo/api/sign`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const refused = await sign({ path: "/pnm.v1.ParticipantService/VerifyToken", body: "{}" });
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: string }).error).toContain("not a RoomService route");
  const signed = (await (await sign({ path: "/auth/room/isRoomActive", body: "{}" })).json()) as Record<string, string>;
  expect(signed["API-KEY"]).toBe(dev.config.apiKey);
  expect(signed["PNM-SIGNATURE"]).toMatch(/^v2;ts=\d+;nonce=[\w-]{16,64};sig=[0-9a-f]{64}$/);
  const plainText = await fetch(`${dev.server.url}/demo/api/sign`, { method: "POST", body: "{}" });
  expect(plainText.status).toBe(415);
  // Bad input: a clear refusal, nothing signed.
  const post = (body: string) =>
    fetch(`${dev.server.url}/demo/api/sign`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  for (const [body, status, error] of [
    ["not json", 400, "not JSON"],
    ['{"path": "/auth/room/create"}', 400, '"body"'],
    [JSON.stringify({ path: "/auth/room/create", body: "x".repeat(70_000) }), 413, "exceeds"],
  ] as const) {
    const answer = await post(body);
    expect(answer.status, body.slice(0, 40)).toBe(status);
    expect(((await answer.json()) as { error: string }).error).toContain(error);
  }
  expect((await fetch(`${dev.server.url}/demo/api/wire?room=a.b`)).status).toBe(400);
  // No PNM_DEMO_DIR: the dev routes, but no pages.
  expect((await fetch(`${dev.server.url}/demo/`)).status).toBe(404);
  // Wire streams are capped (PNM_DEMO_WIRE_STREAMS): one over the cap is refused while the others stay open.
  const streams = new AbortController();
  const open = await Promise.all(
    Array.from({ length: wireStreams }, () =>
      fetch(`${dev.server.url}/demo/api/wire?room=capped`, { signal: streams.signal }),
    ),
  );
  expect(open.map((r) => r.status)).toEqual(Array(wireStreams).fill(200));
  expect((await fetch(`${dev.server.url}/demo/api/wire?room=capped`)).status).toBe(503);
  streams.abort();
}
