import { fileURLToPath } from "node:url";
import { describeExampleClient } from "./example-contract.js";
import { run } from "./run-example.js";

const example = (file: string) => fileURLToPath(new URL(`../python/${file}`, import.meta.url));

describeExampleClient({
  language: "Python",
  async prepare() {
    await run("bash", [example("generate.sh")]);
    // Debian's Python: python3-grpcio and python3-protobuf are installed for it, not for a pyenv python3 on PATH.
    return "/usr/bin/python3";
  },
  baseArgs: [example("room_demo.py")],
  flag: "--",
  prepareTimeoutMs: 120_000,
});
