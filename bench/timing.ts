import { performance } from "node:perf_hooks";
import { ownCpuMs } from "./process-cpu.js";

export interface Timing {
  /** Wall time per operation, µs. */
  wallUs: number;
  /** This process's CPU time per operation, µs: what the work costs, however busy the machine is. */
  cpuUs: number;
  failures: number;
}

/**
 * Runs `operation` `iterations` times, `inFlight` at a time (1: each awaited
 * before the next), after a tenth as many untimed runs to warm the JIT.
 */
export async function time(iterations: number, operation: (i: number) => unknown, inFlight = 1): Promise<Timing> {
  const run = async (total: number) => {
    let next = 0;
    let failures = 0;
    const slot = async () => {
      while (next < total) {
        try {
          await operation(next++);
        } catch {
          failures++;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, slot));
    return failures;
  };
  await run(Math.ceil(iterations / 10));
  const cpuBefore = ownCpuMs();
  const start = performance.now();
  const failures = await run(iterations);
  return {
    wallUs: ((performance.now() - start) * 1000) / iterations,
    cpuUs: ((ownCpuMs() - cpuBefore) * 1000) / iterations,
    failures,
  };
}
