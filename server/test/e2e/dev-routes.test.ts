// The dev routes' guards, on a real dev-mode server: only the demo's own pages may use the API (no other
// origin, no other site's name re-pointed at the machine), and a body announced too large is refused
// before it is read; the wire feed, once closed, ends its streams and refuses new ones. demo.test.ts covers
// what the routes answer their own pages.
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWireWatch } from "../../src/http/dev-wire.js";
import { startTestNats, startTestServer, type TestNats, type TestServer, testConfig } from "../support/harness.js";

let nats: TestNats;
let dev: TestServer;
beforeAll(async () => {
  nats = await startTestNats();
  dev = await startTestServer(nats, testConfig(nats, { devMode: true }));
});
afterAll(async () => {
  await dev?.close();
  await nats?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP/1.1 request with exactly these headers; `body` undefined sends the headers alone and waits. */
function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(dev.server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => void chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
        // The server answered before the body it refused: nothing more to send.
        if (body === undefined) req.destroy();
      });
    });
    req.on("error", reject);
    if (body === undefined) req.flushHeaders();
    else req.end(body);
  });
}

const signRequest = JSON.stringify({ path: "/auth/room/create", body: "{}" });
const json = { "content-type": "application/json" };

describe("the dev API", () => {
  it("signs for the demo's own pages, at an IP address or localhost", async () => {
    for (const headers of [
      json,
      { ...json, origin: dev.server.url, "sec-fetch-site": "same-origin" },
      { ...json, host: `localhost:${dev.server.port}`, origin: `http://localhost:${dev.server.port}` },
    ]) {
      const answer = await send("POST", "/demo/api/sign", headers, signRequest);
      expect(answer.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(answer.body)).toHaveProperty("PNM-SIGNATURE");
    }
  });

  it("refuses another origin, a cross-site fetch and a re-pointed host name with 403, signing nothing", async () => {
    const other = `evil.example:${dev.server.port}`;
    for (const headers of [
      { ...json, origin: "https://evil.example" },
      { ...json, origin: "null" },
      { ...json, "sec-fetch-site": "cross-site" },
      // DNS rebinding: the other site's page, its name now pointing here, is same-origin to the browser.
      { ...json, host: other, origin: `http://${other}` },
      { ...json, host: `evil.example@127.0.0.1:${dev.server.port}` },
    ]) {
      const answer = await send("POST", "/demo/api/sign", headers, signRequest);
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      expect(body.error).toMatch(/^the dev API answers only /);
      expect(body).not.toHaveProperty("PNM-SIGNATURE");
    }
    // The wire feed too: another site cannot hold its streams open (an <img> or EventSource sends no preflight).
    const wire = await send("GET", "/demo/api/wire?room=r", { "sec-fetch-site": "cross-site" });
    expect(wire.status).toBe(403);
    const permissions = await send("POST", "/demo/api/permissions", { ...json, host: other }, "{}");
    expect(permissions.status).toBe(403);
  });

  it("refuses a body announced over PNM_MAX_BODY_BYTES before reading it, and closes the connection", async () => {
    const answer = await send("POST", "/demo/api/sign", { ...json, "content-length": String(5_000_000) });
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe("close");
    expect(JSON.parse(answer.body)).toEqual({ error: `request body exceeds ${dev.config.maxBodyBytes} bytes` });
  });

  it("answers a method or content type it does not take with 4xx and a message, never a 5xx", async () => {
    const cases: [string, Record<string, string>, string | undefined, number][] = [
      ["GET", {}, undefined, 405],
      ["POST", { "content-type": "text/plain" }, signRequest, 415],
      ["POST", json, "[1]", 400],
    ];
    for (const [method, headers, body, status] of cases) {
      const answer = await send(method, "/demo/api/sign", headers, body ?? "");
      expect(answer.status, `${method} ${JSON.stringify(headers)}`).toBe(status);
      expect((JSON.parse(answer.body) as { error: string }).error).toBeTruthy();
    }
  });
});

describe("the wire feed", () => {
  it("ends its open streams at close and refuses new ones, so none holds a shutdown open", async () => {
    const nc = await nats.connect();
    const watch = createWireWatch({ nc, maxStreams: 2 });
    const server = createServer(watch.handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo/api/wire?room=closing`;
    try {
      const open = await fetch(url);
      expect(open.status).toBe(200);
      watch.close();
      // The open stream ends (its body reads to the end), and the next is refused.
      await open.text();
      const refused = await fetch(url);
      expect(refused.status).toBe(503);
      expect(await refused.text()).toBe("the server is shutting down");
    } finally {
      server.close();
      await nc.close();
    }
  });
});
