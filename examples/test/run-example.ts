import { execFile } from "node:child_process";

export interface ExampleRun {
  /** Exit status of the example. */
  status: number;
  /** The JSON object the example prints last on stdout. */
  result: Record<string, unknown>;
  stderr: string;
}

/** Runs a command to completion; rejects with its output when it cannot start or fails. */
export function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 600_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs an example client and reads its last stdout line as JSON, whatever its exit status. */
export function runExample(command: string, args: string[], env: Record<string, string> = {}): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    // Only what the example needs: no credentials leak in from the test's own environment.
    const childEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env };
    execFile(command, args, { env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve({ status, result: JSON.parse(last) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`${command} printed no JSON result (exit ${status}):\n${stdout}\n${stderr}`));
      }
    });
  });
}
