import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { ConfigError } from "../../src/config-error.js";

const baseEnv = () => ({
  PNM_DATA_DIR: mkdtempSync(join(tmpdir(), "pnm-limits-")),
  PNM_API_KEY: "pnm-limits-key",
  PNM_API_SECRET: "a-secret-of-at-least-thirty-two-bytes",
});

describe("connection limit settings", () => {
  it("defaults to the documented values", () => {
    expect(parseConfig(baseEnv())).toMatchObject({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      firstBytesTimeoutMs: 5_000,
      maxConnections: 10_000,
      maxConnectionsPerClient: 100,
    });
  });

  it("reads durations and counts from the environment", () => {
    const config = parseConfig({
      ...baseEnv(),
      PNM_HEADERS_TIMEOUT: "2s",
      PNM_REQUEST_TIMEOUT: "1m",
      PNM_IDLE_TIMEOUT: "90s",
      PNM_FIRST_BYTES_TIMEOUT: "1500ms",
      PNM_MAX_CONNECTIONS: "500",
      PNM_MAX_CONNECTIONS_PER_CLIENT: "0",
    });
    expect(config).toMatchObject({
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 90_000,
      firstBytesTimeoutMs: 1_500,
      maxConnections: 500,
      maxConnectionsPerClient: 0,
    });
  });

  it.each([
    ["PNM_HEADERS_TIMEOUT", "ten seconds"],
    ["PNM_REQUEST_TIMEOUT", "0s"],
    ["PNM_IDLE_TIMEOUT", "25h"],
    ["PNM_FIRST_BYTES_TIMEOUT", ""],
    ["PNM_MAX_CONNECTIONS", "0"],
    ["PNM_MAX_CONNECTIONS", "1e9x"],
    ["PNM_MAX_CONNECTIONS_PER_CLIENT", "-1"],
    ["PNM_MAX_CONNECTIONS_PER_CLIENT", "2.5"],
  ])("refuses %s=%j with a ConfigError naming it", (name, value) => {
    const load = () => parseConfig({ ...baseEnv(), [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(name);
  });

  it("refuses a headers timeout longer than the request timeout", () => {
    expect(() => parseConfig({ ...baseEnv(), PNM_HEADERS_TIMEOUT: "40s" })).toThrow(
      /PNM_HEADERS_TIMEOUT.*PNM_REQUEST_TIMEOUT/,
    );
  });
});
