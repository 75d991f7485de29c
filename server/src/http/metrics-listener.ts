import { createServer } from "node:http";
import type { Registry } from "prom-client";

/** The Prometheus listener: `GET /metrics` on its own port. */
export interface MetricsListener {
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` in Prometheus' text format at `GET /metrics` on
 * `host`:`port` (`PNM_METRICS_HOST`, loopback by default: the metrics are
 * for the operator's scraper, not for callers). Port 0 takes a free port.
 */
export async function listenMetrics(options: {
  host: string;
  port: number;
  registry: Registry;
}): Promise<MetricsListener> {
  const { registry } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?", 1)[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" });
      return void res.end("not found");
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      () => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("metrics could not be collected");
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
