import { debuglog } from "node:util";
import pino, { type DestinationStream } from "pino";

/** pino's levels, lowest first; `silent` logs nothing. */
export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

/** Facts about one event, logged as fields of its line (`requestId`, `route`, `outcome`, `reason`, `latencyMs`, …). */
export type LogFields = Record<string, unknown>;

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
  /**
   * A structured line: `fields` become fields of a JSON log line. Optional:
   * `logEvent` hands a logger without it the message (and the fields as
   * text) through the methods above.
   */
  log?(level: Exclude<LogLevel, "silent">, fields: LogFields, message: string): void;
}

/** Logs `fields` and `message` at `level` on any Logger: structured where it can, else as text through info/error/debug. */
export function logEvent(logger: Logger, level: Exclude<LogLevel, "silent">, fields: LogFields, message: string): void {
  if (logger.log) {
    logger.log(level, fields, message);
    return;
  }
  const text = `${message}${Object.entries(fields)
    .map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("")}`;
  if (level === "error" || level === "fatal") logger.error(text);
  else if (level === "info" || level === "warn") logger.info(text);
  else logger.debug?.(text);
}

const debugLines = debuglog("pnm");

/** Lines prefixed "[pnm]" on stdout, errors on stderr; debug lines on stderr only when NODE_DEBUG names `pnm`. */
export const consoleLogger: Logger = {
  info: (message) => console.log(`[pnm] ${message}`),
  error: (message, err) => console.error(`[pnm] ${message}`, err instanceof Error ? err.message : (err ?? "")),
  debug: (message) => debugLines(message),
};

/** Reports nothing. */
export const silentLogger: Logger = { info: () => {}, error: () => {}, debug: () => {}, log: () => {} };

/**
 * Header and field paths whose values never reach a log line, whatever logs
 * them: credentials, signatures, tokens, keys. pnm logs none of them itself;
 * this is the net under that rule.
 */
export const redactedPaths: readonly string[] = [
  "authorization",
  "token",
  "jwt",
  "secret",
  "apiSecret",
  "seed",
  "*.authorization",
  "*.token",
  "*.jwt",
  "*.secret",
  "*.apiSecret",
  "*.seed",
  "*.auth_token",
  ...["authorization", "api-key", "hash-signature", "pnm-signature", "cookie"].flatMap((name) => [
    `headers["${name}"]`,
    `req.headers["${name}"]`,
  ]),
];

/** How `createPnmLogger` logs. */
export interface PnmLoggerOptions {
  /** Default `info` (`PNM_LOG_LEVEL`). */
  level?: LogLevel;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON; default: when the destination is stdout and stdout is a terminal. */
  pretty?: boolean;
}

/** A pnm Logger on pino, with the pino logger underneath (`pino`) for embedders that want its child loggers. */
export interface PnmLogger extends Logger {
  readonly pino: pino.Logger;
  log(level: Exclude<LogLevel, "silent">, fields: LogFields, message: string): void;
}

/**
 * pnm's logger: one JSON object a line (`time`, `level`, `msg` and the
 * event's fields), secrets redacted (`redactedPaths`); on a terminal, a short
 * readable line instead.
 */
export function createPnmLogger(options: PnmLoggerOptions = {}): PnmLogger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const target = options.destination ?? pino.destination({ dest: 1, sync: true });
  const destination: DestinationStream = pretty ? { write: (line) => target.write(prettyLine(line)) } : target;
  const base = pino(
    {
      level: options.level ?? "info",
      base: { name: "pnm" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...redactedPaths], censor: "[redacted]" },
    },
    destination,
  );
  return {
    pino: base,
    info: (message) => base.info(message),
    error: (message, err) => (err === undefined ? base.error(message) : base.error({ err: errorFields(err) }, message)),
    debug: (message) => base.debug(message),
    log: (level, fields, message) => base[level](fields, message),
  };
}

/** An error's name and message, never its properties: those may hold a request, and so a token. */
function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return String(err);
  return { type: err.name, message: err.message, stack: err.stack };
}

const levelColors: Record<string, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[36m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m",
};

/** One JSON log line as `12:00:00.123 INFO  message key=value …`, for a terminal. */
export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, name: _name, pid: _pid, hostname: _hostname, err, ...fields } = record;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  const label = String(level ?? "");
  const color = levelColors[label] ?? "";
  const rest = Object.entries(fields)
    .map(([key, value]) => ` \x1b[90m${key}=\x1b[0m${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("");
  const error = err && typeof err === "object" && "message" in err ? ` \x1b[31m${String(err.message)}\x1b[0m` : "";
  return `${clock} ${color}${label.toUpperCase().padEnd(5)}\x1b[0m ${String(msg ?? "")}${rest}${error}\n`;
}
