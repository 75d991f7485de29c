import { createServer as createHttp1Server } from "node:http";
import {
  createServer as createHttp2Server,
  constants as http2Constants,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { type Logger, silentLogger } from "../logger.js";
import type { NodeHandler } from "./connect-routes.js";
import {
  ClientConnectionCounter,
  type ConnectionLimits,
  createRefusalLog,
  http1KeepAliveCapMs,
  resolveConnectionLimits,
} from "./connection-limits.js";

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Once a closing HTTP/2 session has ended its side of the connection, how long the peer has to close its own before it is reset. */
const goawayGraceMs = 1_000;

export interface DualProtocolListener {
  readonly port: number;
  /**
   * Stops accepting connections at once, closes idle ones and asks the rest
   * to close after their answer (HTTP/1.1 `connection: close`, HTTP/2
   * GOAWAY), then waits up to `graceMs` for the requests in flight to be
   * answered. Resolves with the number still unanswered; close() ends them.
   */
  drain(graceMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface DualProtocolListenerOptions {
  host: string;
  port: number;
  handler: NodeHandler;
  /** Limits left out take `defaultConnectionLimits`. */
  limits?: Partial<ConnectionLimits>;
  /** Where refused connections are reported, at info. */
  logger?: Logger;
}

/**
 * HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port. Node's
 * allowHTTP1 works only with TLS, so the first bytes of each connection
 * decide: the HTTP/2 preface goes to the HTTP/2 server, anything else to the
 * HTTP/1.1 server. Neither of those listens itself, so every time limit a
 * slow or silent client could otherwise exploit is set up here.
 */
export async function listenDualProtocol(options: DualProtocolListenerOptions): Promise<DualProtocolListener> {
  const limits = resolveConnectionLimits(options.limits);
  const http1 = createHttp1Server(
    {
      keepAliveTimeout: Math.min(limits.idleTimeoutMs, http1KeepAliveCapMs),
      // The headers are part of the request: its limit bounds theirs (and Node refuses a larger one).
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      // How often Node looks for requests over those two limits; at its 30 s
      // default a slow client would outlast a short limit by that much.
      connectionsCheckingInterval: Math.max(
        10,
        Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10)),
      ),
    },
    (req, res) => handler(req, res),
  );
  // Node tracks connections for headersTimeout and requestTimeout only from a
  // server's "listening" event on; this server is handed its sockets and never
  // listens, so without this those limits would never apply.
  http1.emit("listening");
  const http2 = createHttp2Server({}, (req, res) => handler(req, res));
  // Requests in flight, from their headers until their answer is done: what drain() waits for.
  let inFlight = 0;
  let draining = false;
  const settled = new Set<() => void>();
  const sessions = new Set<ServerHttp2Session>();
  const handler: NodeHandler = (req, res) => {
    inFlight++;
    if (draining && "shouldKeepAlive" in res) res.shouldKeepAlive = false;
    res.once("close", () => {
      if (--inFlight === 0) for (const each of settled) each();
    });
    options.handler(req, res);
  };

  const refusals = createRefusalLog(options.logger ?? silentLogger);
  const perClient = new ClientConnectionCounter(limits.maxConnectionsPerClient);
  const sockets = new Set<Socket>();
  // noDelay as Node's own HTTP servers set it: otherwise a small answer can wait on the client's delayed ACK.
  const net: Server = createNetServer({ noDelay: true }, (socket) => {
    const address = socket.remoteAddress;
    socket.on("error", () => socket.destroy());
    if (address === undefined) return void socket.destroy(); // reset before it was accepted
    if (!perClient.admit(address)) {
      refusals.refused(
        `${address} has ${limits.maxConnectionsPerClient} connections open (PNM_MAX_CONNECTIONS_PER_CLIENT)`,
      );
      // A reset rather than a close leaves no TIME_WAIT behind for a client that keeps trying.
      return void socket.resetAndDestroy();
    }
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      perClient.release(address);
    });
    sniffProtocol(socket, limits.firstBytesTimeoutMs, (isHttp2, seen) => {
      if (isHttp2) return serveHttp2(socket, seen);
      socket.unshift(seen);
      http1.emit("connection", socket);
      socket.resume();
    });
  });
  // Node closes connections over this number as it accepts them, before a socket is made.
  net.maxConnections = limits.maxConnections;
  net.on("drop", (peer) =>
    refusals.refused(
      `${limits.maxConnections} connections are open (PNM_MAX_CONNECTIONS), dropped one from ${peer?.remoteAddress}`,
    ),
  );

  function serveHttp2(socket: Socket, seen: Buffer): void {
    // The HTTP/2 server reads from the socket's native handle, bypassing
    // unshift(); hand it a stream that replays the bytes already read.
    const incoming = new PassThrough();
    incoming.write(seen);
    socket.pipe(incoming);
    const stream = Duplex.from({ readable: incoming, writable: socket });
    socket.once("close", () => stream.destroy());
    let session: ServerHttp2Session | undefined;
    const takeSession = (created: ServerHttp2Session) => (session = created);
    http2.once("session", takeSession); // emitted synchronously for the connection
    http2.emit("connection", stream);
    http2.off("session", takeSession);
    const opened = session as ServerHttp2Session | undefined;
    if (!opened) return;
    if (draining) opened.close();
    sessions.add(opened);
    opened.once("close", () => sessions.delete(opened));
    closeWhenIdle(opened, socket);
  }

  /**
   * Closes the session once it has had no open stream for the idle timeout,
   * and cancels each stream whose request body has not ended within the
   * request timeout (the session then idles out like any other).
   */
  function closeWhenIdle(session: ServerHttp2Session, socket: Socket): void {
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    // A closing session (GOAWAY from either side) ends the socket once its
    // streams are done and then waits for the peer to close its side. A peer
    // that does not is reset, which also spares the kernel a half-closed socket.
    const resetUnlessClosed = () => (grace = setTimeout(() => socket.resetAndDestroy(), goawayGraceMs));
    const idleOut = () => {
      session.close();
      resetUnlessClosed();
    };
    session.on("stream", (stream: ServerHttp2Stream) => {
      open++;
      clearTimeout(idle);
      clearTimeout(grace);
      const deadline = stream.endAfterHeaders
        ? undefined
        : setTimeout(() => cancelUnfinishedRequest(stream), limits.requestTimeoutMs);
      stream.once("close", () => {
        clearTimeout(deadline);
        if (--open > 0) return;
        if (session.closed || session.destroyed) resetUnlessClosed();
        else idle = setTimeout(idleOut, limits.idleTimeoutMs);
      });
    });
    socket.once("close", () => {
      clearTimeout(idle);
      clearTimeout(grace);
    });
    idle = setTimeout(idleOut, limits.idleTimeoutMs);
  }

  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(options.port, options.host, () => resolve());
  });
  const address = net.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    drain: async (graceMs) => {
      draining = true;
      net.close();
      http1.closeIdleConnections();
      for (const session of sessions) session.close();
      if (inFlight === 0) return 0;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          settled.delete(done);
          resolve();
        };
        const timer = setTimeout(done, graceMs);
        settled.add(done);
      });
      return inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        net.close(() => resolve());
        http1.close(); // stops its timeout checks; the sockets are destroyed below
        refusals.close();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/**
 * Reads until the bytes either are the whole HTTP/2 preface or stop matching
 * it: a client may send its first bytes in several segments, and an HTTP/1.1
 * "POST" starts with the preface's "P". Closes a connection that has not
 * decided within the timeout, silent or dribbling.
 */
function sniffProtocol(socket: Socket, timeoutMs: number, decided: (isHttp2: boolean, seen: Buffer) => void): void {
  let seen: Buffer | undefined;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onClose = () => clearTimeout(timer);
  const onData = (chunk: Buffer) => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk;
    const n = Math.min(seen.length, http2Preface.length);
    const matches = seen.subarray(0, n).equals(http2Preface.subarray(0, n));
    if (matches && n < http2Preface.length) return;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onClose);
    socket.pause();
    decided(matches, seen);
  };
  socket.on("data", onData);
  socket.once("close", onClose);
}

/** Resets a stream whose request body is still arriving; one whose request is complete is left to its handler. */
function cancelUnfinishedRequest(stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.state.remoteClose) return;
  stream.close(http2Constants.NGHTTP2_CANCEL);
}
