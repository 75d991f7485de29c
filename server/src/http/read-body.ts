import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { FailureReason } from "@pnm/gen/pnm/v1/common_pb";
import { pnmError } from "../errors.js";

/**
 * Reads a request body up to `limit` bytes, handing each chunk to `onChunk`
 * as it arrives. A body that announces or reaches more than the limit is
 * refused before the rest of it is read.
 */
export async function readBody(
  req: IncomingMessage | Http2ServerRequest,
  limit: number,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Buffer> {
  const tooLarge = () => pnmError(FailureReason.BODY_TOO_LARGE, `request body exceeds ${limit} bytes`);
  const announced = Number(req.headers["content-length"] ?? 0);
  if (announced > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    onChunk?.(chunk);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
