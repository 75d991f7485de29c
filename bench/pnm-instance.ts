import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { PnmConfig } from "../server/src/config.js";
import type { NatsKeys } from "../server/src/nats/nats-keys.js";

/** A pnm server in a process of its own, in the same callout and presence queue groups as the bench's. */
export interface PnmInstance {
  /** Its process, whose CPU the bench counts as pnm's. */
  pid: number;
  /** Its `/metrics`, which counts its KV round trips. */
  metricsUrl: string;
  close(): Promise<void>;
}

const childEntry = fileURLToPath(new URL("./pnm-instance-process.ts", import.meta.url));

/**
 * Starts one more pnm instance on the deployment's NATS with the same keys
 * and settings (its own HTTP and metrics ports), so that the callout's queue
 * group spreads connects over two processes, and two cores, as in a
 * deployment of several instances.
 */
export async function startPnmInstance(keys: NatsKeys, config: PnmConfig, natsUrl: string): Promise<PnmInstance> {
  const child = fork(childEntry, { execArgv: ["--conditions=pnm-source", "--import", "tsx"] });
  const { metricsUrl } = await new Promise<{ metricsUrl: string }>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`pnm instance process exited (${code})`));
    child.once("exit", onExit);
    child.once("message", (answer: { metricsUrl: string }) => {
      child.off("exit", onExit);
      resolve(answer);
    });
    child.send({ keys, config: { ...config, httpPort: 0, metricsPort: 0 }, natsUrl });
  });
  return {
    pid: child.pid!,
    metricsUrl,
    async close() {
      child.send("close");
      await once(child, "exit");
    },
  };
}
