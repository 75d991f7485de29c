import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests run the packages' TypeScript sources, not their dist/: the
  // "pnm-source" condition of every export points at src/ (Node tests resolve
  // as vite's SSR environment does).
  ssr: { resolve: { conditions: ["pnm-source", ...defaultServerConditions] } },
  test: {
    include: ["{server,client,conformance,examples}/test/**/*.test.ts"],
    globalSetup: ["./scripts/test-global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
