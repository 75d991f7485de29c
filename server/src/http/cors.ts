import { cors } from "@connectrpc/connect";
import type { NodeHandler } from "./connect-routes.js";

/** Which web origins may call the participant routes. */
export interface CorsOptions {
  /** Exact origins allowed to call participant routes from a browser. */
  allowedOrigins: string[];
}

const allowHeaders = [...cors.allowedHeaders, "Authorization"].join(", ");
const exposeHeaders = [...cors.exposedHeaders, "pnm-failure-reason"].join(", ");

/**
 * CORS for the routes browsers call (participant routes only: the signed
 * server-to-server API is never called from a page). Origins not on the list
 * get no CORS headers, so the browser blocks the answer.
 */
export function withCors(options: CorsOptions, handler: NodeHandler): NodeHandler {
  const allowed = new Set(options.allowedOrigins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      res.setHeader("Access-Control-Expose-Headers", exposeHeaders);
      if (req.method === "OPTIONS") {
        res.setHeader("Access-Control-Allow-Methods", "POST, OPTIONS");
        res.setHeader("Access-Control-Allow-Headers", allowHeaders);
        res.setHeader("Access-Control-Max-Age", "600");
        res.writeHead(204);
        return void res.end();
      }
    } else if (req.method === "OPTIONS") {
      res.writeHead(403);
      return void res.end();
    }
    handler(req, res);
  };
}
