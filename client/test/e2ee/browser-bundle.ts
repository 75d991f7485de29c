import { build } from "esbuild";
import { fileURLToPath } from "node:url";

/** The global the bundle defines in the page. */
export const bundleGlobal = "pnmE2eeBrowser";

/**
 * Bundles the vector runner and the e2ee module as a classic script, so the
 * page runs the very sources Node tests, with WebCrypto as its only crypto.
 */
export async function bundleForBrowser(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `export * from "./vector-runner.js"; export * as e2ee from "../../src/e2ee/index.js";`,
      resolveDir: fileURLToPath(new URL(".", import.meta.url)),
      sourcefile: "browser-entry.ts",
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "iife",
    globalName: bundleGlobal,
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
