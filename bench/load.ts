import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
}

export interface LoadOptions {
  url: string;
  /** POSTed as is; each `[<n>]` in it becomes a number unique to the request (within the run: a fresh prefix per run). */
  body: string;
  headers: Record<string, string>;
  /**
   * Signs each request over its own body with this API secret: `v1` sets
   * HASH-SIGNATURE, `v2` PNM-SIGNATURE with the time and a fresh nonce.
   * Without it the headers are sent as given.
   */
  sign?: { secret: string; version: "v1" | "v2" };
  connections: number;
  seconds: number;
}

export interface LoadGenerator {
  run(options: LoadOptions): Promise<LoadResult>;
  close(): void;
}

const childEntry = fileURLToPath(new URL("./load-process.ts", import.meta.url));

/**
 * autocannon in a child process, started once, so that the load generator
 * shares neither the server's event loop nor, while a run is measured, the
 * cost of starting a process. Each connection keeps one request in flight.
 */
export function startLoadGenerator(): LoadGenerator {
  const child = fork(childEntry, { execArgv: ["--conditions=pnm-source", "--import", "tsx"] });
  return {
    run: (options) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (answer: { result?: LoadResult; error?: string }) => {
          child.off("exit", onExit);
          if (answer.result) resolve(answer.result);
          else reject(new Error(answer.error));
        });
        child.send(options);
      }),
    close: () => child.kill(),
  };
}
