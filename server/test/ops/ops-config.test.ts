import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { ConfigError } from "../../src/config-error.js";

describe("shutdown and embedded NATS port settings", () => {
  it("defaults to a 10 s grace and ports the embedded server picks", () => {
    expect(parseConfig({})).toMatchObject({ shutdownGraceMs: 10_000, natsPort: undefined, natsWsPort: undefined });
  });

  it("reads PNM_SHUTDOWN_GRACE, PNM_NATS_PORT and PNM_NATS_WS_PORT", () => {
    expect(parseConfig({ PNM_SHUTDOWN_GRACE: "30s", PNM_NATS_PORT: "4333", PNM_NATS_WS_PORT: "4334" })).toMatchObject({
      shutdownGraceMs: 30_000,
      natsPort: 4333,
      natsWsPort: 4334,
    });
    expect(parseConfig({ PNM_SHUTDOWN_GRACE: "0s" }).shutdownGraceMs).toBe(0);
  });

  it("refuses values out of range", () => {
    expect(() => parseConfig({ PNM_SHUTDOWN_GRACE: "2h" })).toThrow(ConfigError);
    expect(() => parseConfig({ PNM_NATS_PORT: "0" })).toThrow(
      'PNM_NATS_PORT: expected a port number from 1 to 65535, got "0"',
    );
    expect(() => parseConfig({ PNM_NATS_WS_PORT: "70000" })).toThrow(ConfigError);
  });
});
