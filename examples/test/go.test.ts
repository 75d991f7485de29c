import { fileURLToPath } from "node:url";
import { describeExampleClient } from "./example-contract.js";
import { run } from "./run-example.js";

const buildScript = fileURLToPath(new URL("../go/build.sh", import.meta.url));

describeExampleClient({
  language: "Go",
  // The first build compiles protoc-gen-go and gRPC from Debian's sources (about a minute); later ones hit the cache.
  prepare: async () => (await run("bash", [buildScript])).trim().split("\n").pop()!,
  baseArgs: [],
  flag: "-",
  prepareTimeoutMs: 600_000,
});
