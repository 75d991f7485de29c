import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";

const chromiumPath = "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialling hosts this machine cannot reach.
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface BrowserPage {
  page: Page;
  /** The page's origin, for CORS allow-lists. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Bundles `entry` (TypeScript source, imports resolved from `resolveDir`) as a
 * classic script that defines `globalName`, for pages that run the very
 * sources Node tests run.
 */
export async function bundleScript(entry: string, resolveDir: string, globalName: string): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir, sourcefile: "browser-entry.ts", loader: "ts" },
    bundle: true,
    write: false,
    format: "iife",
    globalName,
    platform: "browser",
    // The packages' sources, as in the Node tests, not their dist/.
    conditions: ["pnm-source"],
    target: "es2022",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/**
 * Debian's headless Chromium, with the flags that keep it from dialling out.
 * The test command installs chromium; without it this throws instead of skipping.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run apt-get install -y chromium`);
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

/**
 * Opens a page running `script` in Debian's headless Chromium. The page is
 * served from a loopback http origin: about:blank is not a secure context,
 * so crypto.subtle would be missing there.
 */
export async function openBrowserPage(script: string): Promise<BrowserPage> {
  const html = `<!doctype html><meta charset="utf-8"><script>${script}</script>`;
  const server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return {
    page,
    origin,
    async close() {
      await browser.close();
      server.close();
    },
  };
}
