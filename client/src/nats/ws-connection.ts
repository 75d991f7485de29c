import {
  connectCommand,
  type PublishFields,
  pingCommand,
  pongCommand,
  pubCommand,
  subCommand,
  unsubCommand,
} from "./nats-commands.js";
import {
  NatsAuthorizationError,
  NatsConnectionClosedError,
  NatsError,
  NatsPermissionError,
  NatsTimeoutError,
} from "./nats-errors.js";
import { createNatsParser, type NatsMessage, type NatsServerInfo, type NatsServerOp } from "./nats-parser.js";

/** A WebSocket class with the W3C API: the browser's, or `nodeWebSocket` from `@pnm/client/node`. */
export type WebSocketConstructor = new (url: string) => WebSocket;

/** Where a NATS connection over WebSocket goes and how it behaves. */
export interface NatsConnectionOptions {
  /** WebSocket URLs (`ws://`, `wss://`), tried in order until one admits the connection. */
  servers: string[];
  /** The WebSocket class to connect with. */
  webSocket: WebSocketConstructor;
  /** The token to present (CONNECT `auth_token`), read at connect; none when undefined. */
  token?: () => string;
  /** The connection's name as the NATS server reports it; default "pnm". */
  name?: string;
  /** How long one server may take from opening the socket to the first PONG, in ms; default 20 000. */
  timeoutMs?: number;
  /** How often to ping the server to notice a dead link, in ms; default 120 000. */
  pingIntervalMs?: number;
  /** Pings left unanswered before the connection counts as dead and closes (NatsTimeoutError); default 2. */
  maxPingsOut?: number;
  /**
   * Errors the server reported that did not close the connection: a refused
   * publish or subscription (NatsPermissionError), other `-ERR`s (NatsError
   * `SERVER_ERROR`). A refused subscription also ends it (`closed`).
   */
  onError?: (error: NatsError) => void;
}

/** What goes with a published message besides its subject and payload: a reply subject, headers. */
export type NatsPublishOptions = PublishFields;

/** One subscription of a connection. */
export interface NatsSubscription {
  /** The subject subscribed to, wildcards and all. */
  readonly subject: string;
  /**
   * Resolves when the subscription ends: undefined after `unsubscribe` or
   * when the connection closes, the NatsPermissionError when the server
   * refused it.
   */
  readonly closed: Promise<NatsError | undefined>;
  /** Stops the messages; the server is told, unless the connection is closed already. */
  unsubscribe(): void;
}

/**
 * A NATS connection over one WebSocket. It never reconnects: once closed it
 * stays closed, and whoever wants another opens one (the participant session
 * does, with a fresh token).
 */
export interface NatsConnection {
  /** The server's INFO: the latest it sent. */
  readonly info: NatsServerInfo;
  /**
   * Subscribes to `subject`; `callback` gets each message. Throws
   * NatsConnectionClosedError once the connection is closed, NatsError
   * `INVALID_ARGUMENT` for a subject with whitespace in it.
   */
  subscribe(subject: string, callback: (message: NatsMessage) => void): NatsSubscription;
  /**
   * Publishes `data` (a string is sent as UTF-8; default: empty) on
   * `subject`. Throws NatsConnectionClosedError once the connection is
   * closed, NatsError `MAX_PAYLOAD` for a message larger than the server
   * takes, `INVALID_ARGUMENT` for a subject, reply or header that cannot go
   * on the wire. A refusal by the server comes later, to `onError`.
   */
  publish(subject: string, data?: Uint8Array | string, options?: NatsPublishOptions): void;
  /**
   * Resolves once the server has answered a PING sent now, so it has
   * processed everything sent before (and sent any refusal of it); rejects
   * when the connection closes first.
   */
  flush(): Promise<void>;
  /**
   * Resolves when the connection has closed: to undefined after `close()`,
   * else to the error that closed it (NatsConnectionClosedError when the
   * server or the network dropped it, NatsAuthorizationError when the user
   * expired, NatsTimeoutError when pings went unanswered, the server's
   * `-ERR` before it closed).
   */
  closed(): Promise<Error | undefined>;
  /** True once the connection has closed, whoever closed it. */
  isClosed(): boolean;
  /** Closes the connection (what was published before is still sent); never rejects. */
  close(): Promise<void>;
}

/** How long `close()` waits for the server to acknowledge the WebSocket close before it resolves anyway. */
const closeWaitMs = 2_000;
const encoder = new TextEncoder();

/** A frame's bytes: binary frames as sent, text frames as UTF-8. */
function frameBytes(data: unknown): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new NatsError("PROTOCOL", "a WebSocket frame that is neither text nor an ArrayBuffer");
}

/** A subscriber's exception must not stop the reading of the stream; it is rethrown where it cannot. */
function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

/**
 * Connects to the first of `servers` that admits the connection: opens the
 * WebSocket, answers the server's INFO with CONNECT (the token, if any) and
 * PING, and resolves on the PONG. Rejects with NatsAuthorizationError when a
 * server refuses the credentials (the other servers are not tried: they
 * would refuse them too), else with the last server's error
 * (NatsConnectionClosedError, NatsTimeoutError, its `-ERR`).
 */
export async function connectNats(options: NatsConnectionOptions): Promise<NatsConnection> {
  let lastError: unknown = new NatsConnectionClosedError("no NATS server to connect to");
  for (const url of options.servers) {
    try {
      return await connectTo(url, options);
    } catch (error) {
      if (error instanceof NatsAuthorizationError) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function connectTo(url: string, options: NatsConnectionOptions): Promise<NatsConnection> {
  return new Promise((resolveConnect, rejectConnect) => {
    const timeoutMs = options.timeoutMs ?? 20_000;
    // By sid: the subject, where its messages go, and how it ends (with the server's refusal, if that ended it).
    const subscriptions = new Map<
      number,
      { subject: string; callback: (message: NatsMessage) => void; end: (refusal?: NatsPermissionError) => void }
    >();
    // One waiter per PING in flight, answered in order; called with the error when the connection closes first.
    const pongs: ((error?: Error) => void)[] = [];
    let info: NatsServerInfo | undefined;
    let connection: NatsConnection | undefined;
    let closedWith: Error | undefined;
    let isClosed = false;
    let lastError: NatsError | undefined;
    let nextSid = 0;
    let pingsOut = 0;
    let pinger: ReturnType<typeof setInterval> | undefined;
    let resolveClosed!: (error: Error | undefined) => void;
    const closed = new Promise<Error | undefined>((resolve) => (resolveClosed = resolve));
    let socketGone!: () => void;
    const socketClosed = new Promise<void>((resolve) => (socketGone = resolve));

    let socket: WebSocket;
    try {
      socket = new options.webSocket(url);
    } catch (error) {
      rejectConnect(new NatsConnectionClosedError(`cannot open a WebSocket to ${url}`, { cause: error }));
      return;
    }
    socket.binaryType = "arraybuffer";
    const connectTimer = setTimeout(
      () => shutdown(new NatsTimeoutError(`${url} did not admit the connection within ${timeoutMs} ms`)),
      timeoutMs,
    );

    /** Closes once, with `error` (undefined: closed by `close()`), and tells everyone waiting. */
    function shutdown(error: Error | undefined): void {
      if (isClosed) return;
      isClosed = true;
      closedWith = error;
      clearTimeout(connectTimer);
      clearInterval(pinger);
      const reason = error ?? new NatsConnectionClosedError();
      for (const pong of pongs.splice(0)) pong(reason);
      for (const { end } of subscriptions.values()) end();
      subscriptions.clear();
      try {
        socket.close();
      } catch {
        // already closing
      }
      if (connection) resolveClosed(error);
      else rejectConnect(reason);
    }

    function send(bytes: Uint8Array): void {
      socket.send(bytes);
    }

    function ping(): Promise<void> {
      return new Promise((resolve, reject) => {
        if (isClosed) return reject(closedError());
        send(pingCommand);
        pongs.push((error) => (error ? reject(error) : resolve()));
      });
    }

    const closedError = () => new NatsConnectionClosedError("the NATS connection is closed", { cause: closedWith });

    function serverError(error: NatsError): void {
      // A refused or expired user, or any refusal before the connection is up: the server closes it next.
      if (error instanceof NatsAuthorizationError || !connection) {
        shutdown(error);
        return;
      }
      if (error instanceof NatsPermissionError && error.operation === "subscribe") {
        for (const [sid, { subject, end }] of subscriptions) {
          if (subject !== error.subject) continue;
          subscriptions.delete(sid);
          end(error);
        }
      }
      // Kept in case the server closes the connection next: then it is why.
      if (!(error instanceof NatsPermissionError)) lastError = error;
      options.onError?.(error);
    }

    function handle(op: NatsServerOp): void {
      if (isClosed) return;
      switch (op.op) {
        case "INFO":
          if (!info) {
            send(connectCommand({ name: options.name ?? "pnm", token: options.token?.() }));
            // Admitted once the PONG comes: a refusal arrives before it. (A close before it rejects the connect.)
            send(pingCommand);
            pongs.push((error) => void (error || connected()));
          }
          info = op.info;
          break;
        case "MSG":
          try {
            subscriptions.get(op.sid)?.callback(op.message);
          } catch (error) {
            rethrowLater(error);
          }
          break;
        case "PING":
          send(pongCommand);
          break;
        case "PONG":
          pongs.shift()?.();
          break;
        case "-ERR":
          serverError(op.error);
          break;
      }
    }

    function keepAlive(): void {
      if (pingsOut >= (options.maxPingsOut ?? 2)) {
        shutdown(new NatsTimeoutError(`${url} answered none of ${pingsOut} pings: the connection is dead`));
        return;
      }
      pingsOut++;
      void ping().then(
        () => (pingsOut = 0),
        () => undefined,
      );
    }

    function connected(): void {
      clearTimeout(connectTimer);
      pinger = setInterval(keepAlive, options.pingIntervalMs ?? 120_000);
      connection = {
        get info() {
          return info!;
        },
        subscribe(subject, callback) {
          if (isClosed) throw closedError();
          const sid = ++nextSid;
          const command = subCommand(subject, sid);
          let end!: (refusal?: NatsPermissionError) => void;
          const ended = new Promise<NatsError | undefined>((resolve) => (end = resolve));
          subscriptions.set(sid, { subject, callback, end });
          send(command);
          return {
            subject,
            closed: ended,
            unsubscribe() {
              if (!subscriptions.delete(sid)) return;
              send(unsubCommand(sid));
              end();
            },
          };
        },
        publish(subject, data = new Uint8Array(0), publishOptions = {}) {
          if (isClosed) throw closedError();
          const payload = typeof data === "string" ? encoder.encode(data) : data;
          send(pubCommand(subject, payload, publishOptions, info!.max_payload));
        },
        flush: ping,
        closed: () => closed,
        isClosed: () => isClosed,
        async close() {
          shutdown(undefined);
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([socketClosed, new Promise((resolve) => (timer = setTimeout(resolve, closeWaitMs)))]);
          clearTimeout(timer);
        },
      };
      resolveConnect(connection);
    }

    const parser = createNatsParser(handle);
    socket.addEventListener("message", (event) => {
      if (isClosed) return;
      try {
        parser.feed(frameBytes(event.data));
      } catch (error) {
        shutdown(error as Error);
      }
    });
    // The close event follows with all there is to know; Node's ws throws an error nobody listens to.
    socket.addEventListener("error", () => undefined);
    socket.addEventListener("close", () => {
      socketGone();
      shutdown(
        lastError ??
          new NatsConnectionClosedError(connection ? `${url} closed the connection` : `could not connect to ${url}`),
      );
    });
  });
}
