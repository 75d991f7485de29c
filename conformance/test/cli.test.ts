import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestNats, startTestServer, type TestNats, type TestServer } from "@pnm/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

let nats: TestNats;
let server: TestServer;
let serverArgs: string[];
const tmp = mkdtempSync(join(tmpdir(), "pnm-conformance-cli-"));

beforeAll(async () => {
  nats = await startTestNats();
  server = await startTestServer(nats);
  serverArgs = ["--url", server.server.url, "--api-key", server.config.apiKey, "--api-secret", server.config.apiSecret];
}, 60_000);
afterAll(async () => {
  await server?.close();
  await nats?.stop();
});

async function run(...args: string[]): Promise<{ status: number; lines: string[] }> {
  const lines: string[] = [];
  const status = await main(args, (line) => lines.push(...line.split("\n")));
  return { status, lines };
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe("pnm-conformance", () => {
  it("runs the cases against a running server and ends with the tally", async () => {
    const report = join(tmp, "report.json");
    const { status, lines } = await run(...serverArgs, "--filter", "auth/", "--report", report);
    expect(status).toBe(0);
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    const written = JSON.parse(readFileSync(report, "utf8"));
    expect(written).toMatchObject({
      tool: "pnm-conformance",
      command: "cases",
      profile: "pnm",
      summary: { failed: 0 },
    });
    expect(written.cases[0]).toEqual({
      case: expect.stringMatching(/^auth\/.+\/transport:\w/),
      result: "passed",
      durationMs: expect.any(Number),
    });
    expect(written.cases.length).toBe(Number(lines.at(-1)!.split(" ")[0]));
  }, 60_000);

  it("prints one line per failure with its reason, and exits 1", async () => {
    const cases = mkdtempSync(join(tmp, "cases-"));
    writeFileSync(
      join(cases, "wrong.yaml"),
      [
        "cases:",
        "  - name: demo/unknown-room-active",
        "    profile: upstream",
        "    purpose: A deliberately wrong expectation.",
        "    transports: [rest, grpc]",
        "    steps:",
        "      - call: RoomService.IsRoomActive",
        '        request: { room_id: "${room}" }',
        "        expect: { fields: { is_active: true } }",
      ].join("\n"),
    );
    const { status, lines } = await run(...serverArgs, "--cases", cases);
    expect(status).toBe(1);
    expect(lines.filter((l) => l.startsWith("FAIL"))).toEqual([
      "FAIL demo/unknown-room-active/transport:rest: step 1 (RoomService.IsRoomActive): is_active: expected true, got false",
      "FAIL demo/unknown-room-active/transport:grpc: step 1 (RoomService.IsRoomActive): is_active: expected true, got false",
    ]);
    expect(lines.at(-1)).toBe("0 passed, 2 failed");

    const listed = file("listed.txt", "demo/unknown-room-active/**\n");
    const expected = await run(...serverArgs, "--cases", cases, "--known-failing", listed);
    expect(expected.status).toBe(0);
    expect(expected.lines.slice(-2)).toEqual(["2 known failing (listed, still failing)", "0 passed, 0 failed"]);
  }, 60_000);

  it("fails a run in which a listed known failure passes, so the list stays true", async () => {
    const listed = file("stale.txt", "auth/missing-api-key/transport:rest\n");
    const { status, lines } = await run(...serverArgs, "--filter", "auth/missing-api-key/", "--known-failing", listed);
    expect(status).toBe(1);
    expect(lines).toContain(
      "FAIL auth/missing-api-key/transport:rest: listed as known failing but passed; remove it from the list",
    );
    expect(lines.at(-1)).toBe("4 passed, 1 failed");
  }, 60_000);

  it("runs only upstream's guarantees over REST with --profile upstream", async () => {
    const { status, lines } = await run(...serverArgs, "--profile", "upstream");
    expect(status).toBe(0);
    expect(lines[0]).toMatch(/^pnm-conformance: \d+ cases, profile upstream, transports rest, server /);
  }, 60_000);

  it("starts, checks and stops a server with --spawn", async () => {
    const { status, lines } = await run(
      "--spawn",
      "node --conditions=pnm-source --import tsx server/src/cli/pnm-server.ts",
      "--filter",
      "verify/valid-token/",
    );
    expect(status).toBe(0);
    expect(lines.at(-1)).toBe("5 passed, 0 failed");
  }, 90_000);

  it("drives the NATS plane of a spawned server, with generated LiveKit credentials", async () => {
    const { status, lines } = await run(
      "--spawn",
      "node --conditions=pnm-source --import tsx server/src/cli/pnm-server.ts",
      "--filter",
      "nats/token-admitted/",
      "--filter",
      "media/participant-token/",
    );
    expect(status).toBe(0);
    expect(lines.at(-1)).toBe("2 passed, 0 failed");
  }, 90_000);

  it("without LiveKit credentials runs only the media refusals, and --no-livekit the unavailable case", async () => {
    const unknown = await run(...serverArgs, "--filter", "media/");
    expect(unknown.status).toBe(0);
    expect(unknown.lines).toContain(
      "note: 4 cases need the server's LiveKit credentials (--livekit-api-key and --livekit-api-secret, or --spawn) and are left out",
    );
    expect(unknown.lines.at(-1)).toBe("1 passed, 0 failed");
    const none = await run(...serverArgs, "--no-livekit", "--filter", "media/");
    expect(none.lines.at(-1)).toBe("2 passed, 0 failed");
  }, 60_000);

  it("connects participants to the WebSocket URL given with --nats-url", async () => {
    const given = await run(...serverArgs, "--nats-url", nats.server.wsUrl, "--filter", "nats/token-admitted/");
    expect(given.lines.at(-1)).toBe("1 passed, 0 failed");
    const wrong = await run(...serverArgs, "--nats-url", "ws://127.0.0.1:9", "--filter", "nats/token-admitted/");
    expect(wrong.status).toBe(1);
    expect(wrong.lines.find((l) => l.startsWith("FAIL"))).toMatch(
      /^FAIL nats\/token-admitted\/transport:rest: step 3 \(connect\): harness error: cannot connect to ws:\/\/127\.0\.0\.1:9/,
    );
  }, 60_000);

  it("leaves the NATS cases out for a server whose features do not offer the plane", async () => {
    const features = file("no-nats.yaml", "name: api-only\ntransports: [connect-json]\n");
    const { status, lines } = await run(...serverArgs, "--features", features, "--filter", "nats/");
    expect(status).toBe(0);
    expect(lines[1]).toMatch(
      /^note: \d+ cases need the NATS plane \(nats: true in the features file\) and are left out$/,
    );
    expect(lines.at(-1)).toBe("0 passed, 0 failed");
  });

  it("reports a server that does not start, with its output", async () => {
    const { status, lines } = await run("--spawn", "echo starting; exit 3");
    expect(status).toBe(2);
    expect(lines[0]).toBe("pnm-conformance: the server exited with status 3 before it was ready");
    expect(lines).toContain("starting");
  });

  it("checks extra vectors given with --vectors", async () => {
    const extra = file(
      "extra.json",
      JSON.stringify({
        schema: "pnm-vectors/v1",
        kind: "room-key",
        vectors: [
          {
            name: "mine",
            purpose: "A key from my generator.",
            type: "room-key-format",
            key: "0123456789abcdefABCDEF0123456789",
            expect: "valid",
          },
        ],
      }),
    );
    const { status, lines } = await run("vectors", "--vectors", extra);
    expect(status).toBe(0);
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    const builtIn = await run("vectors");
    expect(Number(lines.at(-1)!.split(" ")[0])).toBe(Number(builtIn.lines.at(-1)!.split(" ")[0]) + 1);
  }, 60_000);

  it.each([
    [[], /give --url with --api-key and --api-secret, or --spawn/],
    [["--url", "http://x", "--spawn", "true"], /give --url or --spawn, not both/],
    [["--spawn", "true", "--api-key", "k"], /--spawn generates the server's credentials/],
    [
      ["--url", "http://x", "--api-key", "k", "--api-secret", "s", "--profile", "strict"],
      /--profile must be upstream, pnm or upstream-web-client/,
    ],
    [["vectors", "--url", "http://x"], /--url does not apply to "vectors"/],
    [
      ["--url", "http://x", "--api-key", "k", "--api-secret", "s", "--livekit-api-key", "lk"],
      /give --livekit-api-key and --livekit-api-secret together/,
    ],
    [
      ["--spawn", "true", "--livekit-api-key", "lk", "--livekit-api-secret", "ls"],
      /--spawn generates the LiveKit credentials/,
    ],
    [
      [
        "--url",
        "http://x",
        "--api-key",
        "k",
        "--api-secret",
        "s",
        "--no-livekit",
        "--livekit-api-key",
        "lk",
        "--livekit-api-secret",
        "ls",
      ],
      /--no-livekit excludes/,
    ],
    [
      ["--url", "http://x", "--api-key", "k", "--api-secret", "s", "--nats-url", "http://x:4222"],
      /--nats-url must be a ws:\/\/ or wss:\/\/ URL/,
    ],
    [["launch"], /unknown command "launch"/],
  ])("refuses %j with the usage text and status 2", async (args, message) => {
    const { status, lines } = await run(...args);
    expect(status).toBe(2);
    expect(lines[0]).toMatch(message);
    expect(lines).toContain("Usage:");
  });
});
