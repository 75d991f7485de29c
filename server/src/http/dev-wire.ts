import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { peerSubjectRoots } from "../nats/subjects.js";
import type { NodeRequest, NodeResponse } from "./connect-routes.js";

/** One message on a room's peer subjects, as an observer of NATS saw it. */
export interface WireMessage {
  /** The subject it was published on (`chat.R`, `chat.R.U`, ...). */
  subject: string;
  /** Its payload, base64: ciphertext where the room encrypts the channel. */
  payload: string;
  /** Its size in bytes. */
  size: number;
}

/** How many may watch at once, and how much each may leave unread. */
export interface WireWatchLimits {
  /** Streams open at once; one more is refused with 503 (`PNM_DEMO_WIRE_STREAMS`). */
  maxStreams: number;
  /** Bytes a stream may hold unread before it is closed (`PNM_DEMO_WIRE_BACKLOG`). */
  maxBufferedBytes: number;
}

/** The wire panel's limits when unset: a few demo tabs, each allowed a megabyte behind. */
export const defaultWireWatchLimits: WireWatchLimits = { maxStreams: 16, maxBufferedBytes: 1024 * 1024 };

/** Who watches, and the limits they watch within. */
export interface WireWatchOptions extends Partial<WireWatchLimits> {
  /** A connection allowed to subscribe to the room's peer subjects (the server's own). */
  nc: NatsConnection;
}

/** The wire panel's feed, and how to end every open stream (at shutdown). */
export interface WireWatch {
  /** `GET /demo/api/wire?room=R`: Server-Sent Events, one `WireMessage` per message on R's peer subjects. */
  handler: (req: NodeRequest, res: NodeResponse) => void;
  close(): void;
}

/** Subject tokens never hold dots, wildcards or white space. */
const roomIdPattern = /^[^.*>\s]{1,128}$/;

/**
 * What an observer subscribed to a room's chat, whiteboard and data subjects
 * sees, streamed to the demo's wire panel: the bytes NATS carries, which for
 * an end-to-end encrypted room are ciphertext only.
 */
export function createWireWatch(options: WireWatchOptions): WireWatch {
  const maxStreams = options.maxStreams ?? defaultWireWatchLimits.maxStreams;
  const maxBufferedBytes = options.maxBufferedBytes ?? defaultWireWatchLimits.maxBufferedBytes;
  const open = new Set<() => void>();
  let closed = false;
  const handler = (req: NodeRequest, res: NodeResponse) => {
    const room = new URL(req.url ?? "", "http://localhost").searchParams.get("room") ?? "";
    if (req.method !== "GET") {
      res.writeHead(405, { "content-type": "text/plain", allow: "GET" });
      return void res.end("method not allowed");
    }
    if (!roomIdPattern.test(room)) {
      res.writeHead(400, { "content-type": "text/plain" });
      return void res.end("expected ?room= and a room ID");
    }
    // After close (shutdown), a new stream would hold the listener's drain open for its whole grace.
    if (closed || open.size >= maxStreams) {
      res.writeHead(503, { "content-type": "text/plain" });
      return void res.end(closed ? "the server is shutting down" : `at most ${maxStreams} wire streams at once`);
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
    const subscriptions: Subscription[] = [];
    const stop = () => {
      if (!open.delete(stop)) return;
      for (const s of subscriptions) s.unsubscribe();
      res.end();
    };
    open.add(stop);
    req.on("close", stop);
    // HTTP/1.1's and HTTP/2's responses write alike, but their union's overloads do not type-check as one.
    const write = (text: string) => {
      if (!open.has(stop)) return;
      (res as { write(chunk: string): boolean }).write(text);
      // A reader that stopped reading is let go rather than buffered for without end.
      if (res.writableLength > maxBufferedBytes) stop();
    };
    // A comment line at once, so the browser knows the stream is open before any message.
    write(": watching\n\n");
    for (const root of peerSubjectRoots) {
      for (const subject of [`${root}.${room}`, `${root}.${room}.*`]) {
        const callback = (err: Error | null, m: Msg) => {
          if (err) return;
          const message: WireMessage = {
            subject: m.subject,
            payload: Buffer.from(m.data).toString("base64"),
            size: m.data.length,
          };
          write(`data: ${JSON.stringify(message)}\n\n`);
        };
        try {
          subscriptions.push(options.nc.subscribe(subject, { callback }));
        } catch {
          // The connection is closing: the stream ends rather than the request crashing the listener.
          return stop();
        }
      }
    }
    // The subscriptions are in place once NATS has them; then the page is told, so it can start sending.
    void options.nc.flush().then(
      () => write("event: ready\ndata: {}\n\n"),
      () => stop(),
    );
  };
  return {
    handler,
    close() {
      closed = true;
      for (const stop of [...open]) stop();
    },
  };
}
