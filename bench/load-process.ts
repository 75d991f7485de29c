// Child process of bench/load.ts: runs each autocannon job it is sent and sends the result back.
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { canonicalStringV2 } from "../server/src/auth/signature-v2.js";
import type { LoadOptions, LoadResult } from "./load.js";

interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  method: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  body: string;
  requests?: { setupRequest: (request: AutocannonRequest) => AutocannonRequest }[];
}) => Promise<AutocannonResult>;

// autocannon ships no types; only the options above are used.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

/** One job: `[<n>]` in the body takes a number unique to the job, and the signature follows the body. */
async function runJob(options: LoadOptions): Promise<LoadResult> {
  const run = randomUUID().slice(0, 8);
  let next = 0;
  const dynamic = options.body.includes("[<n>]") || options.sign !== undefined;
  const path = new URL(options.url).pathname;
  const sign = (body: string): Record<string, string> => {
    if (!options.sign) return {};
    const mac = (text: string) => createHmac("sha256", options.sign!.secret).update(text).digest("hex");
    if (options.sign.version === "v1") return { "HASH-SIGNATURE": mac(body) };
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString("base64url");
    const bodyDigest = createHash("sha256").update(body).digest("hex");
    const sig = mac(canonicalStringV2({ method: "POST", path, timestamp, nonce, bodyDigest }));
    return { "PNM-SIGNATURE": `v2;ts=${timestamp};nonce=${nonce};sig=${sig}` };
  };
  const setupRequest = (request: AutocannonRequest): AutocannonRequest => {
    const body = options.body.replaceAll("[<n>]", `${run}-${next++}`);
    return { ...request, headers: { ...request.headers, ...sign(body) }, body };
  };
  const result = await autocannon({
    url: options.url,
    method: "POST",
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers,
    body: options.body,
    requests: dynamic ? [{ setupRequest }] : undefined,
  });
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

process.on("message", (options: LoadOptions) => {
  runJob(options).then(
    (result) => process.send!({ result }),
    (error: unknown) => process.send!({ error: String(error) }),
  );
});
