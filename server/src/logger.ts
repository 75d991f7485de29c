export interface Logger {
  info(message: string): void;
  error(message: string, err?: unknown): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(`[pnm] ${message}`),
  error: (message, err) => console.error(`[pnm] ${message}`, err instanceof Error ? err.message : (err ?? "")),
};

export const silentLogger: Logger = { info: () => {}, error: () => {} };
