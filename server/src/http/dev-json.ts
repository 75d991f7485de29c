import type { NodeRequest, NodeResponse } from "./connect-routes.js";
import { clientGone } from "./request-body-guard.js";

/** A dev route's refusal: its HTTP status and a message for the demo page to show. */
export class DevRequestError extends Error {
  override readonly name = "DevRequestError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Answers `value` as JSON, never cached. */
export function answerJson(res: NodeResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(value));
}

/**
 * The request's JSON object body. Only `application/json` is read: a browser
 * on another origin must ask first (a CORS preflight, which pnm does not
 * answer), so no other site's page can use a dev route through the browser.
 */
export async function readJsonObject(req: NodeRequest, limit: number): Promise<Record<string, unknown>> {
  if (req.method !== "POST") throw new DevRequestError(405, "expected POST");
  const type = (req.headers["content-type"] ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new DevRequestError(415, "expected content-type application/json");
  const tooLarge = () => new DevRequestError(413, `request body exceeds ${limit} bytes`);
  // A body announced too large is refused before any of it is read.
  if (Number(req.headers["content-length"] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new DevRequestError(400, "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new DevRequestError(400, "expected a JSON object");
  return value as Record<string, unknown>;
}

/**
 * Runs a dev route's work, answering its result as JSON, a DevRequestError
 * with its status, anything else with 500 and no detail (logged, unless the
 * client went away mid-request, which is no fault of pnm's).
 */
export function jsonRoute(
  work: (req: NodeRequest) => Promise<unknown>,
  onFault: (error: unknown) => void,
): (req: NodeRequest, res: NodeResponse) => void {
  return (req, res) =>
    void work(req).then(
      (value) => answerJson(res, 200, value),
      (error: unknown) => {
        // A refused body is left unread: the HTTP/1.1 connection closes rather than carry it.
        if (!req.readableEnded && req.httpVersionMajor === 1) res.setHeader("connection", "close");
        if (error instanceof DevRequestError) return answerJson(res, error.status, { error: error.message });
        if (clientGone(req)) return;
        onFault(error);
        answerJson(res, 500, { error: "internal error" });
      },
    );
}
