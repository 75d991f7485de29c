import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{server,client,conformance}/test/**/*.test.ts"],
    globalSetup: ["./scripts/test-global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
