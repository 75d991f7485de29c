import { request as http1Request } from "node:http";
import {
  type ClientHttp2Session,
  type Http2ServerResponse,
  connect as http2Connect,
  type IncomingHttpHeaders,
} from "node:http2";
import { listenDualProtocol, type NodeHandler, type NodeRequest, type NodeResponse } from "@pnm/server/testing";

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
  http2: boolean;
}

export interface ProxiedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
}

/** A fault a proxy can plant: it changes what reaches the server, or what comes back. */
export interface ProxyFault {
  /** Rewrites a request before it is forwarded, or answers it in the server's place. */
  request?: (req: ProxiedRequest) => ProxiedRequest | ProxiedResponse;
  response?: (req: ProxiedRequest, res: ProxiedResponse) => ProxiedResponse;
}

export interface FaultyProxy {
  readonly url: string;
  close(): Promise<void>;
}

// Hop-by-hop headers, and those the proxy recomputes for the bytes it sends.
const dropped = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "proxy-connection",
]);

/**
 * A front for a real pnm server that plants one fault, speaking HTTP/1.1 and
 * cleartext HTTP/2 like the server, so every transport goes through it.
 * Requests and answers are unary, so both are buffered whole. It relies on
 * the wire contract only, not on how the server is built.
 */
export async function startFaultyProxy(serverUrl: string, fault: ProxyFault): Promise<FaultyProxy> {
  const server = new URL(serverUrl);
  let session: ClientHttp2Session | undefined;
  const http2Session = () => {
    if (!session || session.closed || session.destroyed) session = http2Connect(serverUrl);
    return session;
  };

  const handler: NodeHandler = (req, res) =>
    void (async () => {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
        const incoming: ProxiedRequest = {
          method: req.method ?? "GET",
          path: req.url ?? "/",
          headers: plainHeaders(req.headers),
          body: Buffer.concat(chunks),
          http2: req.httpVersionMajor === 2,
        };
        const rewritten = fault.request ? fault.request(incoming) : incoming;
        if ("status" in rewritten) return reply(res, rewritten);
        const answer = rewritten.http2
          ? await forwardHttp2(http2Session(), rewritten)
          : await forwardHttp1(server, rewritten);
        reply(res, fault.response ? fault.response(rewritten, answer) : answer);
      } catch (err) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy: ${(err as Error).message}`);
      }
    })();

  const listener = await listenDualProtocol({ host: "127.0.0.1", port: 0, handler });
  return {
    url: `http://127.0.0.1:${listener.port}`,
    close: async () => {
      session?.close();
      await listener.close();
    },
  };
}

function plainHeaders(headers: NodeRequest["headers"] | IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || dropped.has(name) || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function forwardHttp1(server: URL, req: ProxiedRequest): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = http1Request(
      {
        host: server.hostname,
        port: server.port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, "content-length": req.body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 502,
            headers: plainHeaders(res.headers),
            body: Buffer.concat(chunks),
            trailers: {},
          }),
        );
        res.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(req.body);
  });
}

function forwardHttp2(session: ClientHttp2Session, req: ProxiedRequest): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": req.method, ":path": req.path, ...req.headers });
    let status = 502;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"] ?? 502);
      headers = plainHeaders(h);
    });
    stream.on("trailers", (t) => (trailers = plainHeaders(t)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status, headers, body: Buffer.concat(chunks), trailers }));
    stream.on("error", reject);
    stream.end(req.body);
  });
}

function reply(res: NodeResponse, answer: ProxiedResponse): void {
  res.writeHead(answer.status, answer.headers);
  if (Object.keys(answer.trailers).length > 0) (res as Http2ServerResponse).addTrailers(answer.trailers);
  res.end(answer.body);
}
