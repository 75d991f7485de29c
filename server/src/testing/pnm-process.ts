import { type ChildProcess, spawn } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/** What a pnm-server process is started with. */
export interface PnmProcessOptions {
  /** The process's whole environment (PNM_* settings, PATH, …). */
  env: NodeJS.ProcessEnv;
  /** Gets every chunk of the process's stdout and stderr, besides `output()`. */
  echo?: (chunk: string) => void;
  /** How long the server has to log where it listens; default 60 s. */
  startTimeoutMs?: number;
}

/** A `pnm-server` command running as a process of its own, so that signals (SIGKILL, SIGTERM) reach it for real. */
export interface PnmProcess {
  /** The base URL it logged (`pnm listening on …`). */
  readonly url: string;
  /** The process: its pid, and signals to send it. */
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when it has exited, with its status or signal. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * How to run the pnm-server CLI of this build with `node`: its TypeScript
 * source under tsx, from the checkout's root (where tsx resolves), or the
 * built JavaScript.
 */
export function pnmServerCommand(): { args: string[]; cwd?: string } {
  const ext = extname(fileURLToPath(import.meta.url));
  const cli = fileURLToPath(new URL(`../cli/pnm-server${ext}`, import.meta.url));
  if (ext !== ".ts") return { args: [cli] };
  return {
    args: ["--conditions=pnm-source", "--import", "tsx", cli],
    cwd: fileURLToPath(new URL("../../../", import.meta.url)),
  };
}

/** Starts `pnm-server` with `options.env` and waits until it listens; rejects (and kills it) if it exits or stays silent. */
export async function startPnmProcess(options: PnmProcessOptions): Promise<PnmProcess> {
  const { args, cwd } = pnmServerCommand();
  const child = spawn(process.execPath, args, { cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let onOutput = () => {};
  const take = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output += text;
    options.echo?.(text);
    onOutput();
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    onOutput = () => {
      const found = /pnm listening on (http:\/\/[^\s"]+)/.exec(output);
      if (found) resolve(found[1]!);
    };
    void exit.then(({ code, signal }) =>
      reject(new Error(`pnm-server exited (${signal ?? code}) before listening:\n${output}`)),
    );
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pnm-server did not listen within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
  }).finally(() => {
    clearTimeout(timer);
    onOutput = () => {};
  });
  return {
    url,
    child,
    output: () => output,
    exit,
    async kill(signal) {
      child.kill(signal);
      return exit;
    },
  };
}
