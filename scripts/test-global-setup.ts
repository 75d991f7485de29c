import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// Resolve nats-server once, before workers fork, so that parallel test files
// do not race to install it and every worker inherits the path.
export default function setup(): void {
  if (process.env.PNM_NATS_SERVER_BIN) return;
  const script = fileURLToPath(new URL("./ensure-nats.sh", import.meta.url));
  process.env.PNM_NATS_SERVER_BIN = execFileSync("bash", [script], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}
