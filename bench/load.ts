import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

const autocannon = fileURLToPath(new URL("../node_modules/.bin/autocannon", import.meta.url));

/** Runs autocannon in its own process, so the load generator does not share the server's event loop. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = ["-j", "-m", "POST", "-c", String(options.connections), "-d", String(options.seconds), "-b", options.body];
  for (const [name, value] of Object.entries(options.headers)) args.push("-H", `${name}=${value}`);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    execFile(autocannon, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) return reject(error);
      const report = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number };
      resolve({ requestsPerSecond: report.requests.average, p50Ms: report.latency.p50, p99Ms: report.latency.p99, non2xx: report.non2xx });
    });
  });
}
