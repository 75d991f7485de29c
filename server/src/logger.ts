import { debuglog } from "node:util";

/** Where the server reports what it does and what went wrong, a line at a time. */
export interface Logger {
  /** Reports something the server did. */
  info(message: string): void;
  /** Reports a failure, with its cause if there is one. */
  error(message: string, err?: unknown): void;
  /**
   * Reports what a client did that is no failure of the server's, such as
   * going away mid-request: anyone can cause these, so they must not reach
   * the error log. Optional, so that loggers written for the two levels
   * above keep working; a logger without it drops these lines.
   */
  debug?(message: string): void;
}

const debugLines = debuglog("pnm");

/** Lines prefixed "[pnm]" on stdout, errors on stderr; debug lines on stderr only when NODE_DEBUG names `pnm`. */
export const consoleLogger: Logger = {
  info: (message) => console.log(`[pnm] ${message}`),
  error: (message, err) => console.error(`[pnm] ${message}`, err instanceof Error ? err.message : (err ?? "")),
  debug: (message) => debugLines(message),
};

/** Reports nothing. */
export const silentLogger: Logger = { info: () => {}, error: () => {}, debug: () => {} };
