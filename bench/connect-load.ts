import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ConnectJob, type ConnectReport, runConnects } from "./connect-clients.js";

export interface ConnectLoad {
  run(job: ConnectJob): Promise<ConnectReport>;
  close(): void;
}

const childEntry = fileURLToPath(new URL("./connect-client-process.ts", import.meta.url));

/**
 * Where the WebSocket clients run. By default a child process, so that their
 * event loop and GC stay off the pnm server's (the callout shares this one);
 * they still share the machine's cores with it and nats-server.
 */
export function startConnectLoad(options: { inProcess: boolean }): ConnectLoad {
  if (options.inProcess) return { run: runConnects, close: () => {} };
  const child: ChildProcess = fork(childEntry, {
    execArgv: ["--conditions=pnm-source", "--import", "tsx"],
    serialization: "advanced",
  });
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`connect client process exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (answer: { report?: ConnectReport; error?: string }) => {
          child.off("exit", onExit);
          if (answer.report) resolve(answer.report);
          else reject(new Error(answer.error));
        });
        child.send(job);
      }),
    close: () => child.kill(),
  };
}
