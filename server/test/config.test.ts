import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config.js";
import { ConfigError } from "../src/config-error.js";
import { ensureDevCredentials } from "../src/dev-credentials.js";

const secret = "s".repeat(32);
const scratch = () => mkdtempSync(join(tmpdir(), "pnm-config-"));
function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (caught) {
    return caught as Error;
  }
  throw new Error("expected an error");
}

describe("parseConfig", () => {
  it("gives every setting its documented default, and leaves the API credentials to ensureDevCredentials", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      httpPort: 8080,
      natsWsUrls: [],
      dataDir: resolve(".pnm"),
      natsKeysFile: resolve(".pnm/nats-keys.json"),
      tokenValidityMs: 600_000,
      maxBodyBytes: 65_536,
      offlineAfterMs: 5_000,
      renewalGraceMs: 60_000,
      maxSessionMs: 86_400_000,
      corsOrigins: [],
      apiSignature: "v1-and-v2",
      signatureWindowMs: 300_000,
      upstreamWebClient: false,
      demoWireStreams: 16,
      demoWireBacklogBytes: 1_048_576,
    });
    for (const unset of [
      "apiKey",
      "apiSecret",
      "apiKeysFile",
      "natsUrl",
      "natsServerBin",
      "livekit",
      "devCredentialsFile",
      "devMode",
      "demoDir",
    ]) {
      expect(config).not.toHaveProperty(unset, expect.anything());
    }
  });

  it("reads every variable", () => {
    const dataDir = scratch();
    const config = parseConfig({
      PNM_HOST: "::1",
      PNM_HTTP_PORT: "0",
      PNM_API_KEY: "key",
      PNM_API_SECRET: secret,
      PNM_NATS_URL: "nats://nats.example.com:4222",
      PNM_NATS_WS_URLS: "wss://a.example.com, ws://127.0.0.1:8222",
      PNM_NATS_SERVER_BIN: "/opt/nats-server",
      PNM_NATS_KEYS_FILE: "keys.json",
      PNM_TOKEN_VALIDITY: "1h30m",
      PNM_RENEWAL_GRACE: "0s",
      PNM_MAX_SESSION: "8h",
      PNM_OFFLINE_AFTER: "1500ms",
      PNM_CORS_ORIGINS: "https://app.example.com,http://localhost:5173",
      PNM_LIVEKIT_URL: "wss://livekit.example.com",
      PNM_LIVEKIT_API_KEY: "lk",
      PNM_LIVEKIT_API_SECRET: "lk-secret",
      PNM_MAX_BODY_BYTES: "2048",
      PNM_API_SIGNATURE: "v2-only",
      PNM_SIGNATURE_WINDOW: "2m",
      PNM_UPSTREAM_WEB_CLIENT: "on",
      PNM_DEV_MODE: "on",
      PNM_DEMO_DIR: "demo-out",
      PNM_DEMO_WIRE_STREAMS: "4",
      PNM_DEMO_WIRE_BACKLOG: "131072",
      PNM_DATA_DIR: dataDir,
    });
    expect(config).toEqual(
      expect.objectContaining({
        host: "::1",
        httpPort: 0,
        apiKey: "key",
        apiSecret: secret,
        natsUrl: "nats://nats.example.com:4222",
        natsWsUrls: ["wss://a.example.com", "ws://127.0.0.1:8222"],
        natsServerBin: "/opt/nats-server",
        natsKeysFile: resolve("keys.json"),
        tokenValidityMs: 5_400_000,
        renewalGraceMs: 0,
        maxSessionMs: 28_800_000,
        offlineAfterMs: 1_500,
        corsOrigins: ["https://app.example.com", "http://localhost:5173"],
        livekit: { url: "wss://livekit.example.com", apiKey: "lk", apiSecret: "lk-secret" },
        maxBodyBytes: 2048,
        apiSignature: "v2-only",
        signatureWindowMs: 120_000,
        upstreamWebClient: true,
        devMode: true,
        demoDir: resolve("demo-out"),
        demoWireStreams: 4,
        demoWireBacklogBytes: 131_072,
        dataDir,
      }),
    );
  });

  it("takes an empty text setting for unset, as a shell's VAR= is", () => {
    const config = parseConfig({
      PNM_NATS_URL: "",
      PNM_LIVEKIT_URL: "",
      PNM_LIVEKIT_API_KEY: "",
      PNM_LIVEKIT_API_SECRET: "",
      PNM_API_KEY: "",
    });
    expect(config.natsUrl).toBeUndefined();
    expect(config.livekit).toBeUndefined();
    expect(config.apiKey).toBeUndefined();
  });

  it("names the variable, the accepted form and the value in one line", () => {
    expect(() => parseConfig({ PNM_TOKEN_VALIDITY: "10" })).toThrow(
      new ConfigError('PNM_TOKEN_VALIDITY: expected a duration such as 90s, 10m or 1h, got "10"'),
    );
    expect(() => parseConfig({ PNM_TOKEN_VALIDITY: "25h" })).toThrow(
      new ConfigError('PNM_TOKEN_VALIDITY: expected a duration from 1m to 24h, got "25h"'),
    );
    expect(() => parseConfig({ PNM_HTTP_PORT: "80a" })).toThrow(
      new ConfigError('PNM_HTTP_PORT: expected a port number from 0 to 65535, got "80a"'),
    );
  });

  it.each([
    ["PNM_HTTP_PORT", "65536"],
    ["PNM_HTTP_PORT", ""],
    ["PNM_HTTP_PORT", "-1"],
    ["PNM_TOKEN_VALIDITY", "30s"],
    ["PNM_TOKEN_VALIDITY", ""],
    ["PNM_RENEWAL_GRACE", "11m"],
    ["PNM_MAX_SESSION", "25h"],
    ["PNM_MAX_SESSION", "30s"],
    ["PNM_OFFLINE_AFTER", "soon"],
    ["PNM_MAX_BODY_BYTES", "1000"],
    ["PNM_MAX_BODY_BYTES", "64k"],
    ["PNM_NATS_WS_URLS", "http://nats.example.com"],
    ["PNM_NATS_WS_URLS", "not a url"],
    ["PNM_CORS_ORIGINS", "https://app.example.com/"],
    ["PNM_CORS_ORIGINS", "*"],
    ["PNM_API_SIGNATURE", "v3"],
    ["PNM_UPSTREAM_WEB_CLIENT", "yes"],
    ["PNM_DEV_MODE", "yes"],
    ["PNM_DEMO_WIRE_STREAMS", "0"],
    ["PNM_DEMO_WIRE_STREAMS", "many"],
    ["PNM_DEMO_WIRE_BACKLOG", "1000"],
    ["PNM_SIGNATURE_WINDOW", "1h"],
  ])("refuses %s=%j with a ConfigError naming it", (name, value) => {
    const error = errorOf(() => parseConfig({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(new RegExp(`^${name}: expected [^\\n]+, got `));
    expect(error.message.endsWith(`got ${JSON.stringify(value)}`)).toBe(true);
  });

  it("refuses LiveKit settings given in part, naming the missing ones", () => {
    expect(() => parseConfig({ PNM_LIVEKIT_URL: "wss://livekit.example.com" })).toThrow(
      /^PNM_LIVEKIT_API_KEY, PNM_LIVEKIT_API_SECRET: /,
    );
    expect(() =>
      parseConfig({ PNM_LIVEKIT_URL: "livekit", PNM_LIVEKIT_API_KEY: "k", PNM_LIVEKIT_API_SECRET: "s" }),
    ).toThrow(/^PNM_LIVEKIT_URL: expected /);
  });

  it("refuses half a credential pair, naming the missing half", () => {
    expect(() => parseConfig({ PNM_API_KEY: "key" })).toThrow(/^PNM_API_SECRET: expected it together with PNM_API_KEY/);
    expect(() => parseConfig({ PNM_API_SECRET: secret })).toThrow(
      /^PNM_API_KEY: expected it together with PNM_API_SECRET/,
    );
    expect(() => parseConfig({ PNM_API_KEYS_FILE: "keys.json", PNM_API_KEY: "key", PNM_API_SECRET: secret })).toThrow(
      /^PNM_API_KEYS_FILE: /,
    );
  });

  it("refuses a short secret and upstream's published sample secret without repeating them", () => {
    for (const bad of ["short-secret", "zumyyYWqv7KR2kUqvYdq4z4sXg7XTBD2ljT6"]) {
      const error = errorOf(() => parseConfig({ PNM_API_KEY: "key", PNM_API_SECRET: bad }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^PNM_API_SECRET: /);
      expect(error.message).not.toContain(bad);
    }
  });

  it("reads no file and writes none", () => {
    const dataDir = scratch();
    parseConfig({ PNM_DATA_DIR: dataDir, PNM_NATS_KEYS_FILE: join(dataDir, "missing.json") });
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe("ensureDevCredentials", () => {
  it("generates dev credentials once, into a file only the owner may read, and reuses them", async () => {
    const dataDir = scratch();
    const first = await ensureDevCredentials(parseConfig({ PNM_DATA_DIR: dataDir }));
    const file = join(dataDir, "dev-credentials.json");
    expect(first.devCredentialsFile).toBe(file);
    expect(Buffer.byteLength(first.apiSecret)).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ apiKey: first.apiKey, apiSecret: first.apiSecret });
    const second = await ensureDevCredentials(parseConfig({ PNM_DATA_DIR: dataDir }));
    expect([second.apiKey, second.apiSecret]).toEqual([first.apiKey, first.apiSecret]);
  });

  it("keeps configured credentials and writes nothing", async () => {
    const dataDir = scratch();
    const config = await ensureDevCredentials(
      parseConfig({ PNM_DATA_DIR: dataDir, PNM_API_KEY: "key", PNM_API_SECRET: secret }),
    );
    expect(config).toMatchObject({ apiKey: "key", apiSecret: secret });
    expect(config.devCredentialsFile).toBeUndefined();
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("refuses a credentials file that is not JSON, or whose secret is too short, naming the file", async () => {
    for (const content of ["{ not json", JSON.stringify({ apiKey: "key", apiSecret: "short" })]) {
      const dataDir = scratch();
      writeFileSync(join(dataDir, "dev-credentials.json"), content, { mode: 0o600 });
      const error = await ensureDevCredentials(parseConfig({ PNM_DATA_DIR: dataDir })).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(join(dataDir, "dev-credentials.json"));
    }
  });
});

describe("parseConfig: the NATS plane's per-participant limits", () => {
  it("gives each its documented default, and reads each variable", () => {
    expect(parseConfig({})).toMatchObject({
      natsMaxSubscriptions: 64,
      natsMaxPayload: 1_048_576,
      requestRate: 10,
      requestBurst: 30,
      publishRate: 200,
      publishByteRate: 2_097_152,
      publishCheckIntervalMs: 1_000,
      workerQueuePerUser: 100,
      workerQueueBytes: 67_108_864,
    });
    const config = parseConfig({
      PNM_NATS_MAX_SUBSCRIPTIONS: "32",
      PNM_NATS_MAX_PAYLOAD: "65536",
      PNM_REQUEST_RATE: "2",
      PNM_REQUEST_BURST: "4",
      PNM_PUBLISH_RATE: "50",
      PNM_PUBLISH_BYTE_RATE: "2048",
      PNM_PUBLISH_CHECK_INTERVAL: "0s",
      PNM_WORKER_QUEUE_PER_USER: "5",
      PNM_WORKER_QUEUE_BYTES: "1048576",
    });
    expect(config).toMatchObject({
      natsMaxSubscriptions: 32,
      natsMaxPayload: 65_536,
      requestRate: 2,
      requestBurst: 4,
      publishRate: 50,
      publishByteRate: 2048,
      publishCheckIntervalMs: 0,
      workerQueuePerUser: 5,
      workerQueueBytes: 1_048_576,
    });
  });

  it.each([
    ["PNM_NATS_MAX_SUBSCRIPTIONS", "15"],
    ["PNM_NATS_MAX_PAYLOAD", "1000"],
    ["PNM_NATS_MAX_PAYLOAD", "8388609"],
    ["PNM_REQUEST_RATE", "0"],
    ["PNM_REQUEST_BURST", "1.5"],
    ["PNM_PUBLISH_RATE", ""],
    ["PNM_PUBLISH_BYTE_RATE", "1023"],
    ["PNM_PUBLISH_CHECK_INTERVAL", "50ms"],
    ["PNM_PUBLISH_CHECK_INTERVAL", "2h"],
    ["PNM_WORKER_QUEUE_PER_USER", "0"],
    ["PNM_WORKER_QUEUE_BYTES", "1024"],
  ])("refuses %s=%j with a ConfigError naming it", (name, value) => {
    const error = errorOf(() => parseConfig({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(new RegExp(`^${name}: expected [^\\n]+, got `));
    expect(error.message.endsWith(`got ${JSON.stringify(value)}`)).toBe(true);
  });
});
