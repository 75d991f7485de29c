/**
 * What went wrong on a NATS connection, to match on instead of the message:
 * `AUTHORIZATION` the server refused the credentials (a wrong or expired
 * token, an auth callout that said no); `AUTHENTICATION_EXPIRED` the
 * connection's user expired while connected; `PERMISSION` a publish or
 * subscription the user may not make; `CONNECTION_CLOSED` the connection is
 * gone (closed by the server, the network or `close()`); `TIMEOUT` the server
 * did not answer in time; `MAX_PAYLOAD` a message larger than the server
 * takes; `INVALID_ARGUMENT` a subject or header that cannot go on the wire;
 * `SERVER_ERROR` any other `-ERR` of the server; `PROTOCOL` bytes from the
 * server that are not the NATS protocol.
 */
export type NatsErrorCode =
  | "AUTHORIZATION"
  | "AUTHENTICATION_EXPIRED"
  | "PERMISSION"
  | "CONNECTION_CLOSED"
  | "TIMEOUT"
  | "MAX_PAYLOAD"
  | "INVALID_ARGUMENT"
  | "SERVER_ERROR"
  | "PROTOCOL";

/** An error of pnm's NATS connection; `code` says which kind. */
export class NatsError extends Error {
  /** Which kind of failure this is. */
  readonly code: NatsErrorCode;
  constructor(code: NatsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NatsError";
    this.code = code;
  }
}

/** The server refused the connection's credentials, or the user they stand for has expired. */
export class NatsAuthorizationError extends NatsError {
  constructor(code: "AUTHORIZATION" | "AUTHENTICATION_EXPIRED", message: string) {
    super(code, message);
    this.name = "NatsAuthorizationError";
  }
}

/** The server refused a publish or a subscription: the user's permissions do not cover the subject. */
export class NatsPermissionError extends NatsError {
  /** What was refused. */
  readonly operation: "publish" | "subscribe";
  /** The subject as the server names it (for a subscription, as subscribed, wildcards and all). */
  readonly subject: string;
  constructor(operation: "publish" | "subscribe", subject: string, message: string) {
    super("PERMISSION", message);
    this.name = "NatsPermissionError";
    this.operation = operation;
    this.subject = subject;
  }
}

/** The connection is closed: by the server (a kick, a restart), by the network, or by `close()`. */
export class NatsConnectionClosedError extends NatsError {
  constructor(message = "the NATS connection is closed", options?: ErrorOptions) {
    super("CONNECTION_CLOSED", message, options);
    this.name = "NatsConnectionClosedError";
  }
}

/** The server did not answer within the time allowed (a connect, or the pings that keep a connection alive). */
export class NatsTimeoutError extends NatsError {
  constructor(message: string) {
    super("TIMEOUT", message);
    this.name = "NatsTimeoutError";
  }
}

/**
 * The error a server's `-ERR` line stands for. The text is the protocol's
 * (nats-server's fixed wording), so reading it is parsing the protocol: the
 * permission violations name the operation and subject, the authorization
 * ones say which refusal it was.
 */
export function errorFromServer(text: string): NatsError {
  const quoted = /^'(.*)'$/s.exec(text);
  const message = quoted ? quoted[1]! : text;
  const lower = message.toLowerCase();
  const permission = /^permissions violation for (publish|subscription) to "([^"]*)"/i.exec(message);
  if (permission)
    return new NatsPermissionError(
      permission[1]!.toLowerCase() === "publish" ? "publish" : "subscribe",
      permission[2]!,
      message,
    );
  if (lower.includes("authentication expired")) return new NatsAuthorizationError("AUTHENTICATION_EXPIRED", message);
  if (lower.includes("authorization violation") || lower.includes("authentication timeout"))
    return new NatsAuthorizationError("AUTHORIZATION", message);
  return new NatsError("SERVER_ERROR", message);
}
