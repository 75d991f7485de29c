import { fileURLToPath } from "node:url";
import { bundleScript } from "../support/browser-page.js";

/** The global the bundle defines in the page. */
export const bundleGlobal = "pnmE2eeBrowser";

/** The vector runner and the e2ee module, so the page runs the very sources Node tests, with WebCrypto as its only crypto. */
export function bundleForBrowser(): Promise<string> {
  return bundleScript(
    `export * from "./vector-runner.js"; export * as e2ee from "../../src/e2ee/index.js";`,
    fileURLToPath(new URL(".", import.meta.url)),
    bundleGlobal,
  );
}
