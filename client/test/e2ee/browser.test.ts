import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoomKey, type RoomKeyOptions } from "../../src/e2ee/index.js";
import { type BrowserPage, openBrowserPage } from "../support/browser-page.js";
import { bundleForBrowser, bundleGlobal } from "./browser-bundle.js";
import { loadVectorFile } from "./vector-file.js";
import { type E2eeVector, expectedOutcome, fromHex, type Outcome, toHex } from "./vector-runner.js";

const vectors = loadVectorFile().vectors;
const roomKeyOptions: RoomKeyOptions = {
  passphrase: "browser interop",
  roomSid: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
  scheme: KeyDerivation.PBKDF2_ROOM_SID,
};

// Page-side code is serialised by playwright, so it may reach the bundle only
// through the global it defines.
type BrowserBundle = {
  runVector(vector: E2eeVector): Promise<Outcome>;
  toHex(bytes: Uint8Array): string;
  fromHex(hex: string): Uint8Array;
  e2ee: typeof import("../../src/e2ee/index.js");
};

describe("e2ee in headless Chromium", () => {
  let browser: BrowserPage;
  let page: Page;

  beforeAll(async () => {
    browser = await openBrowserPage(await bundleForBrowser());
    page = browser.page;
  });

  afterAll(() => browser?.close());

  it("has WebCrypto in a secure context", async () => {
    expect(
      await page.evaluate(() => globalThis.isSecureContext && typeof crypto.subtle?.deriveBits === "function", null),
    ).toBe(true);
  });

  it.each(vectors.map((v): [string, E2eeVector] => [v.name, v]))("vector %s", async (_name, vector) => {
    const outcome = await page.evaluate(
      ([name, v]: readonly [string, E2eeVector]) =>
        (globalThis as unknown as Record<string, BrowserBundle>)[name]!.runVector(v),
      [bundleGlobal, vector] as const,
    );
    expect(outcome).toEqual(expectedOutcome(vector));
  });

  it("exchanges random-IV messages with Node in both directions", async () => {
    const text = "sent across runtimes";
    const fromBrowser = await page.evaluate(
      async ([name, options, message]: readonly [string, RoomKeyOptions, string]) => {
        const bundle = (globalThis as unknown as Record<string, BrowserBundle>)[name]!;
        const key = await bundle.e2ee.createRoomKey(options);
        return bundle.toHex(await key.encrypt(new TextEncoder().encode(message)));
      },
      [bundleGlobal, roomKeyOptions, text] as const,
    );
    const nodeKey = await createRoomKey(roomKeyOptions);
    expect(new TextDecoder().decode(await nodeKey.decrypt(fromHex(fromBrowser)))).toBe(text);

    const fromNode = toHex(await nodeKey.encrypt(new TextEncoder().encode(text)));
    const opened = await page.evaluate(
      async ([name, options, wireHex]: readonly [string, RoomKeyOptions, string]) => {
        const bundle = (globalThis as unknown as Record<string, BrowserBundle>)[name]!;
        const key = await bundle.e2ee.createRoomKey(options);
        return new TextDecoder().decode(await key.decrypt(bundle.fromHex(wireHex)));
      },
      [bundleGlobal, roomKeyOptions, fromNode] as const,
    );
    expect(opened).toBe(text);
  });
});
