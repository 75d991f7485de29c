import type { Logger } from "../logger.js";

/** What the HTTP port allows a connection before it is closed or refused. */
export interface ConnectionLimits {
  /** From a request's first byte to the end of its headers (HTTP/1.1). */
  headersTimeoutMs: number;
  /** From a request's first byte until its whole body has arrived (HTTP/1.1, and each HTTP/2 stream). */
  requestTimeoutMs: number;
  /** A connection without a request in progress: an HTTP/2 session without open streams; HTTP/1.1 keep-alive, at most `http1KeepAliveCapMs`. */
  idleTimeoutMs: number;
  /** From accept until the first bytes tell HTTP/1.1 from the HTTP/2 preface. */
  firstBytesTimeoutMs: number;
  /** Open connections on the port; more are closed as they arrive. */
  maxConnections: number;
  /** Open connections from one client address; 0 lifts the cap (behind a proxy every connection comes from the proxy). */
  maxConnectionsPerClient: number;
}

export const defaultConnectionLimits: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  firstBytesTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxConnectionsPerClient: 100,
};

/**
 * Browsers reopen HTTP/1.1 connections cheaply and keep up to six idle per
 * host, so a long keep-alive mostly holds sockets that count against the
 * client's cap; HTTP/2 clients multiplex on one session and gain from keeping it.
 */
export const http1KeepAliveCapMs = 5_000;

/** The limits given, the defaults for the rest (a hand-built config may leave them out). */
export function resolveConnectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...defaultConnectionLimits };
  for (const key of Object.keys(limits) as (keyof ConnectionLimits)[]) {
    const value = given[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/**
 * Counts open connections per client address. IPv4 clients reached over an
 * IPv6 socket appear as ::ffff:a.b.c.d, counted with their IPv4 form.
 */
export class ClientConnectionCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Takes a place for the client; false when the client is at its cap. */
  admit(address: string): boolean {
    const key = clientKey(address);
    const count = this.open.get(key) ?? 0;
    if (this.cap > 0 && count >= this.cap) return false;
    this.open.set(key, count + 1);
    return true;
  }

  release(address: string): void {
    const key = clientKey(address);
    const count = (this.open.get(key) ?? 1) - 1;
    if (count > 0) this.open.set(key, count);
    else this.open.delete(key);
  }
}

function clientKey(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * Logs refused connections at info, one line at once and then at most one
 * summary per interval: a client hammering the cap must not flood the log.
 */
export function createRefusalLog(logger: Logger, intervalMs = 10_000): { refused(why: string): void; close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let suppressed = 0;
  const flush = () => {
    if (suppressed === 0) {
      timer = undefined;
      return;
    }
    logger.info(`refused ${suppressed} more connection(s) in the last ${intervalMs / 1000}s (connection caps)`);
    suppressed = 0;
    timer = setTimeout(flush, intervalMs).unref();
  };
  return {
    refused(why) {
      if (timer) {
        suppressed++;
        return;
      }
      logger.info(`refused a connection: ${why}; further refusals are summarized every ${intervalMs / 1000}s`);
      timer = setTimeout(flush, intervalMs).unref();
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
