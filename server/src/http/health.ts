import type { NodeHandler } from "./connect-routes.js";

/** One readiness check: undefined when ready, else what is wrong, in a few words. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

/**
 * `GET /healthz`, liveness: 200 `ok` while the process serves HTTP. `GET
 * /readyz`, readiness: 200 when every check passes, else 503; the JSON body
 * names each check and, under `notReady`, those that failed and why:
 * `{"ready": false, "checks": {"nats": "disconnected", "kv": "ok", …}, "notReady": ["nats"]}`.
 */
export function createHealthRoutes(checks: Record<string, ReadinessCheck>): Map<string, NodeHandler> {
  const liveness: NodeHandler = (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return void methodNotAllowed(res);
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
    res.end("ok");
  };
  const readiness: NodeHandler = (req, res) =>
    void (async () => {
      if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res);
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            return [name, await check()] as const;
          } catch (err) {
            return [name, err instanceof Error ? err.message : String(err)] as const;
          }
        }),
      );
      const notReady = results.filter(([, problem]) => problem !== undefined).map(([name]) => name);
      const body = JSON.stringify({
        ready: notReady.length === 0,
        checks: Object.fromEntries(results.map(([name, problem]) => [name, problem ?? "ok"])),
        notReady,
      });
      res.writeHead(notReady.length === 0 ? 200 : 503, {
        "content-type": "application/json",
        "cache-control": "no-store",
      });
      res.end(body);
    })();
  return new Map([
    ["/healthz", liveness],
    ["/readyz", readiness],
  ]);
}

function methodNotAllowed(res: Parameters<NodeHandler>[1]): void {
  res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" });
  res.end("method not allowed");
}
