import { createServer as createHttp1Server } from "node:http";
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { Duplex, PassThrough } from "node:stream";
import type { NodeHandler } from "./connect-routes.js";

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface DualProtocolListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface DualProtocolListenerOptions {
  host: string;
  port: number;
  handler: NodeHandler;
}

/**
 * HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port. Node's
 * allowHTTP1 works only with TLS, so the first bytes of each connection
 * decide: the HTTP/2 preface goes to the HTTP/2 server, anything else to the
 * HTTP/1.1 server.
 */
export async function listenDualProtocol(options: DualProtocolListenerOptions): Promise<DualProtocolListener> {
  const http1 = createHttp1Server({ keepAliveTimeout: 5_000 }, options.handler);
  const http2 = createHttp2Server({}, options.handler);
  const sockets = new Set<Socket>();
  const net: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      const n = Math.min(first.length, http2Preface.length);
      if (first.subarray(0, n).equals(http2Preface.subarray(0, n))) {
        // The HTTP/2 server reads from the socket's native handle, bypassing
        // unshift(); hand it a stream that replays the bytes already read.
        const incoming = new PassThrough();
        incoming.write(first);
        socket.pipe(incoming);
        const stream = Duplex.from({ readable: incoming, writable: socket });
        socket.once("close", () => stream.destroy());
        http2.emit("connection", stream);
      } else {
        socket.unshift(first);
        http1.emit("connection", socket);
      }
      socket.resume();
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(options.port, options.host, () => resolve());
  });
  const address = net.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        net.close(() => resolve());
        http1.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
