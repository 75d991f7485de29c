import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { ConfigError } from "../config-error.js";
import type { NodeHandler, NodeResponse } from "./connect-routes.js";

/** Where the demo's pages come from, and what they may connect to. */
export interface DemoPagesOptions {
  /** The built demo: its files (no folders) are served at `/demo/<name>`, `index.html` at `/demo/` too. */
  dir: string;
  /** The NATS WebSocket URLs the pages' sessions open, the only places besides this origin they may connect to. */
  natsWsUrls: readonly string[];
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/**
 * The Content-Security-Policy of the demo's pages: scripts, styles and
 * images from this origin only (no inline code), connections to this
 * origin and NATS only, no frames, no forms posted anywhere.
 */
export function demoContentSecurityPolicy(natsWsUrls: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${natsWsUrls.join(" ")}`.trim(),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The demo's files as routes, listed once (the demo is built before the
 * server starts) and read on each request, so a rebuild shows at once.
 * Files of unknown types are left out; an unreadable folder is a ConfigError.
 */
export async function createDemoPages(options: DemoPagesOptions): Promise<Map<string, NodeHandler>> {
  const csp = demoContentSecurityPolicy(options.natsWsUrls);
  const entries = await readdir(options.dir, { withFileTypes: true }).catch((cause: unknown) => {
    throw new ConfigError(
      `PNM_DEMO_DIR: cannot read ${options.dir} (${(cause as Error).message}): build the demo (npm run demo does), or unset PNM_DEMO_DIR`,
      { cause },
    );
  });
  const routes = new Map<string, NodeHandler>();
  for (const entry of entries) {
    const type = contentTypes[extname(entry.name)];
    if (!entry.isFile() || !type) continue;
    const file = join(options.dir, entry.name);
    const serve: NodeHandler = (req, res) =>
      void (async () => {
        if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res);
        let body: Buffer;
        try {
          body = await readFile(file);
        } catch {
          res.writeHead(404, { "content-type": "text/plain" });
          return void res.end("not found: the demo is being rebuilt, or was removed");
        }
        res.writeHead(200, {
          "content-type": type,
          "content-security-policy": csp,
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "cache-control": "no-store",
        });
        if (req.method === "HEAD") res.end();
        else res.end(body);
      })();
    routes.set(`/demo/${entry.name}`, serve);
    if (entry.name === "index.html") routes.set("/demo/", serve);
  }
  routes.set("/demo", (_req, res) => {
    res.writeHead(308, { location: "/demo/" });
    res.end();
  });
  return routes;
}

function methodNotAllowed(res: NodeResponse): void {
  res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" });
  res.end("method not allowed");
}
