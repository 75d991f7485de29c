import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Msg, type NatsConnection as NatsJsConnection, wsconnect } from "@nats-io/nats-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { connectNats, type NatsConnection } from "../../src/nats/ws-connection.js";
import { nodeWebSocket } from "../../src/node/index.js";

/**
 * A real nats-server for the client's tests: no pnm configuration, no auth
 * callout, no JetStream; only a WebSocket listener (the participants'
 * transport) on loopback, and a system user so that tests can kick a client
 * off as pnm's server does. Connections without credentials land in one
 * account, as a user who may neither publish nor subscribe under
 * `forbidden.>`; a connection that presents a token is refused (there are no
 * token users). The system connection and the wiretap are nats.js's, so what
 * the client under test sends is seen by another implementation.
 * (The server's tests spawn theirs from server/src; the client imports no server code.)
 */
export interface TestNatsServer {
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  /** A participant-like connection: pnm's own over WebSocket, which never reconnects (the session reconnects itself). */
  connect(): Promise<NatsConnection>;
  /** A nats.js connection (WebSocket, no credentials): another implementation, to check against. */
  connectNatsJs(): Promise<NatsJsConnection>;
  /** Closes nc from the server's side, as a kick or an expired NATS user does; resolves once nc has seen it. */
  kick(nc: NatsConnection): Promise<void>;
  /** Freezes the nats-server process (SIGSTOP), as a dead link looks to a client: nothing is answered, nothing closes. */
  pause(): void;
  /** Lets a paused nats-server run again (SIGCONT). */
  resume(): void;
  /**
   * Resolves once every message published on the connections handed out
   * before the call has reached its subscribers' callbacks: each connection
   * is flushed (the server has routed what it sent), then each again (what
   * the server routed to it has arrived).
   */
  settle(): Promise<void>;
  /** Every message published from now on, by subject and payload, in the order the server routed them. */
  wiretap(): Promise<{ subject: string; data: Uint8Array }[]>;
  /** Closes every connection handed out so far. */
  closeConnections(): Promise<void>;
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Options of a test nats-server. */
export interface NatsServerOptions {
  /** How long the start may take, in ms; default 10 000. */
  startTimeoutMs?: number;
  /** The server's `ping_interval` (e.g. "200ms"; it closes a client that leaves 2 in a row unanswered); default nats-server's 2m. */
  pingInterval?: string;
}

const connectWs = (wsUrl: string, auth: { user: string; pass: string } | Record<string, never> = {}) =>
  wsconnect({
    servers: wsUrl,
    ...auth,
    reconnect: false,
    wsFactory: async (url: string) => ({ socket: new nodeWebSocket(url), encrypted: false }),
  });

/** Spawns $PNM_NATS_SERVER_BIN (else `nats-server` on PATH) on ports it picks itself, and waits until it accepts connections. */
export async function startNatsServer({
  startTimeoutMs = 10_000,
  pingInterval,
}: NatsServerOptions = {}): Promise<TestNatsServer> {
  const dir = await mkdtemp(join(tmpdir(), "pnm-client-nats-"));
  const sysPassword = randomBytes(16).toString("hex");
  const config = join(dir, "nats-server.conf");
  await writeFile(
    config,
    `listen: "127.0.0.1:-1"
ports_file_dir: ${JSON.stringify(dir)}
websocket { listen: "127.0.0.1:-1", no_tls: true }
accounts {
  SYS { users: [{ user: "sys", password: "${sysPassword}" }] }
  TEST {
    users: [{
      user: "test", password: "${randomBytes(16).toString("hex")}",
      permissions: { publish: { deny: ["forbidden.>"] }, subscribe: { deny: ["forbidden.>"] } }
    }]
  }
}
system_account: SYS
no_auth_user: "test"
${pingInterval ? `ping_interval: "${pingInterval}"\nping_max: 2` : ""}
`,
  );

  const child = spawn(process.env.PNM_NATS_SERVER_BIN || "nats-server", ["-c", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const log: string[] = [];
  // Always drained (a full pipe would block the server's logger); the tail explains a failed start.
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => void log.splice(0, log.push(chunk) - 20));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    const done = () => {
      exited = true;
      resolve();
    };
    child.once("exit", done);
    child.once("error", (error) => {
      log.push(String(error));
      done();
    });
  });
  const stopServer = async () => {
    process.off("exit", killOnExit);
    if (!exited) {
      // A paused server would not act on SIGTERM until it runs again.
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Ready once the ports file names the WebSocket listener and a connection over it gets through.
  let wsUrl: string | undefined;
  let system: NatsJsConnection | undefined;
  const deadline = Date.now() + startTimeoutMs;
  try {
    while (!system) {
      if (exited) throw new Error(`nats-server exited during start: ${log.join("")}`);
      if (Date.now() > deadline)
        throw new Error(`nats-server did not accept connections within ${startTimeoutMs} ms: ${log.join("")}`);
      const portsFile = (await readdir(dir)).find((name) => name.endsWith(`_${child.pid}.ports`));
      if (portsFile) {
        try {
          wsUrl = (JSON.parse(await readFile(join(dir, portsFile), "utf8")) as { websocket?: string[] }).websocket?.[0];
          if (wsUrl) system = await connectWs(wsUrl, { user: "sys", pass: sysPassword });
        } catch {
          // the ports file half-written, or the listener not up yet
        }
      }
      if (!system) await delay(20);
    }
  } catch (error) {
    await stopServer();
    throw error;
  }
  const url = wsUrl!;

  const handedOut = new Set<NatsConnection | NatsJsConnection>();
  const track = <C extends NatsConnection | NatsJsConnection>(nc: C): C => {
    handedOut.add(nc);
    void nc.closed().then(() => handedOut.delete(nc));
    return nc;
  };
  const closeConnections = async () =>
    void (await Promise.all([...handedOut].map((nc) => nc.close().catch(() => undefined))));
  const flushAll = () => Promise.all([...handedOut].map((nc) => nc.flush().catch(() => undefined)));

  return {
    wsUrl: url,
    connect: async () =>
      track(await connectNats({ servers: [url], webSocket: nodeWebSocket, name: "pnm-client-test" })),
    connectNatsJs: async () => track(await connectWs(url)),
    async kick(nc) {
      const { server_id, client_id } = nc.info ?? {};
      if (!server_id || client_id === undefined) throw new Error("kick: the connection has no server info");
      await system.request(`$SYS.REQ.SERVER.${server_id}.KICK`, JSON.stringify({ cid: client_id }), { timeout: 2_000 });
      await nc.closed();
    },
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    async settle() {
      await flushAll();
      await flushAll();
    },
    async wiretap() {
      const tap = track(await connectWs(url));
      const seen: { subject: string; data: Uint8Array }[] = [];
      tap.subscribe(">", { callback: (_err, m: Msg) => void seen.push({ subject: m.subject, data: m.data }) });
      await tap.flush();
      return seen;
    },
    closeConnections,
    async stop() {
      await closeConnections();
      await system.close().catch(() => undefined);
      await stopServer();
    },
  };
}

/** One nats-server for the calling test file: started in beforeAll, its connections closed after each test, stopped in afterAll. */
export function useNatsServer(options?: NatsServerOptions): TestNatsServer {
  let server: TestNatsServer | undefined;
  beforeAll(async () => {
    server = await startNatsServer(options);
  });
  afterEach(() => server?.closeConnections());
  afterAll(() => server?.stop());
  const started = () => {
    if (!server) throw new Error("the nats-server is used before beforeAll ran");
    return server;
  };
  return {
    get wsUrl() {
      return started().wsUrl;
    },
    connect: () => started().connect(),
    connectNatsJs: () => started().connectNatsJs(),
    kick: (nc) => started().kick(nc),
    pause: () => started().pause(),
    resume: () => started().resume(),
    settle: () => started().settle(),
    wiretap: () => started().wiretap(),
    closeConnections: () => started().closeConnections(),
    stop: () => started().stop(),
  };
}
