/** Where the server reports what it does and what went wrong, a line at a time. */
export interface Logger {
  info(message: string): void;
  error(message: string, err?: unknown): void;
}

/** Lines prefixed "[pnm]" on stdout, errors on stderr. */
export const consoleLogger: Logger = {
  info: (message) => console.log(`[pnm] ${message}`),
  error: (message, err) => console.error(`[pnm] ${message}`, err instanceof Error ? err.message : (err ?? "")),
};

/** Reports nothing. */
export const silentLogger: Logger = { info: () => {}, error: () => {} };
