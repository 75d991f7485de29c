import { access, chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NatsServerNotFoundError,
  NatsServerStartError,
  resolveNatsServerBinary,
  spawnNatsServer,
} from "../../src/nats/embedded-nats.js";
import { NatsConfigError } from "../../src/nats/nats-config.js";
import { createNatsKeys } from "../../src/nats/nats-keys.js";
import { localNatsServerBinary } from "../support/harness.js";

const keys = createNatsKeys();
const binary = localNatsServerBinary();
const serverUser = () => nkeyAuthenticator(new TextEncoder().encode(keys.serverUser.seed));
let scratch: string;
const previousTmpdir = process.env.TMPDIR;
beforeAll(async () => {
  // Temporary data directories land here, where the tests can see that they go
  // away; the quote and space check that paths survive the config's quoting.
  scratch = await mkdtemp(join(tmpdir(), `pnm embedded "nats" `));
  process.env.TMPDIR = scratch;
});
afterAll(async () => {
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  await rm(scratch, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const temporaryDirs = async () => (await readdir(scratch)).filter((entry) => entry.startsWith("pnm-nats-"));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("spawnNatsServer", () => {
  it("starts many servers in parallel on distinct ports and removes their temporary data on stop", async () => {
    const servers = await Promise.all(Array.from({ length: 6 }, () => spawnNatsServer({ binary, keys, httpPort: -1 })));
    try {
      const urls = new Set(servers.flatMap((server) => [server.url, server.wsUrl]));
      expect(urls.size).toBe(12);
      for (const server of servers) {
        expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
        expect(server.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
        expect(server.dataDir.startsWith(scratch)).toBe(true);
        expect(await exists(join(server.dataDir, "jetstream"))).toBe(true);
        expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
        const nc = await connect({ servers: server.url, authenticator: serverUser() });
        expect(nc.info?.server_name).toBe(server.serverName);
        await nc.close();
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
    expect(await temporaryDirs()).toEqual([]);
  });

  it("keeps a given data directory, so JetStream state survives a restart", async () => {
    const dataDir = join(scratch, "persistent");
    const first = await spawnNatsServer({ binary, keys, dataDir });
    try {
      const nc = await connect({ servers: first.url, authenticator: serverUser() });
      await (await jetstreamManager(nc)).streams.add({ name: "survivor", subjects: ["survivor.>"] });
      await nc.close();
    } finally {
      await first.stop();
    }
    expect(await exists(join(dataDir, "nats-server.conf"))).toBe(true);
    const second = await spawnNatsServer({ binary, keys, dataDir });
    try {
      const nc = await connect({ servers: second.url, authenticator: serverUser() });
      expect((await (await jetstreamManager(nc)).streams.info("survivor")).config.subjects).toEqual(["survivor.>"]);
      await nc.close();
    } finally {
      await second.stop();
    }
    await rm(dataDir, { recursive: true });
  });

  it("uses given ports, and stop() is idempotent", async () => {
    const [port, websocketPort] = [await freePort(), await freePort()];
    const server = await spawnNatsServer({ binary, keys, port, websocketPort });
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${port}`);
      expect(server.wsUrl).toBe(`ws://127.0.0.1:${websocketPort}`);
      expect(server.httpUrl).toBeUndefined();
    } finally {
      await Promise.all([server.stop(), server.stop()]);
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it("reports a server that cannot start, with its log, and cleans up", async () => {
    const port = await freePort();
    const first = await spawnNatsServer({ binary, keys, port });
    try {
      const error = await spawnNatsServer({ binary, keys, port }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NatsServerStartError);
      expect(String((error as Error).message)).toMatch(/address already in use/);
    } finally {
      await first.stop();
    }
    expect(await temporaryDirs()).toEqual([]);
  });

  it("removes its temporary directory when the options do not render", async () => {
    await expect(spawnNatsServer({ binary, keys, serverName: "not valid" })).rejects.toBeInstanceOf(NatsConfigError);
    expect(await temporaryDirs()).toEqual([]);
  });

  it("reports a missing binary", async () => {
    const error = await spawnNatsServer({ keys, binary: join(scratch, "no-such-nats-server") }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NatsServerStartError);
    expect((error as Error).cause).toMatchObject({ code: "ENOENT" });
    expect(await temporaryDirs()).toEqual([]);
  });
});

describe("resolveNatsServerBinary", () => {
  it("takes the configured binary, else the first executable nats-server on the search path", async () => {
    const [empty, found, configured] = [
      join(scratch, "path-empty"),
      join(scratch, "path-found"),
      join(scratch, "configured"),
    ];
    await Promise.all([mkdir(empty), mkdir(found), mkdir(configured)]);
    for (const dir of [found, configured]) {
      await writeFile(join(dir, "nats-server"), "#!/bin/sh\n");
      await chmod(join(dir, "nats-server"), 0o755);
    }
    expect(resolveNatsServerBinary(join(configured, "nats-server"), found)).toBe(join(configured, "nats-server"));
    expect(resolveNatsServerBinary(undefined, [empty, found].join(":"))).toBe(join(found, "nats-server"));
  });

  it("says in one line how to get one when there is none", () => {
    const resolve = () => resolveNatsServerBinary(undefined, join(scratch, "nowhere"));
    expect(resolve).toThrow(NatsServerNotFoundError);
    expect(resolve).toThrow(/^no nats-server found: [^\n]*PNM_NATS_SERVER_BIN[^\n]*PNM_NATS_URL[^\n]*$/);
  });

  it("refuses a configured binary that is not an executable file, naming PNM_NATS_SERVER_BIN", async () => {
    const plain = join(scratch, "not-executable");
    await writeFile(plain, "#!/bin/sh\n");
    for (const configured of [plain, join(scratch, "missing"), scratch]) {
      const resolve = () => resolveNatsServerBinary(configured, "");
      expect(resolve).toThrow(NatsServerNotFoundError);
      expect(resolve).toThrow(/^PNM_NATS_SERVER_BIN is [^\n]* not an executable file: [^\n]*$/);
    }
  });
});
