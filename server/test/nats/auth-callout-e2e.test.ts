import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type AuthorizationRequest, encodeAuthorizationResponse, encodeUser } from "@nats-io/jwt";
import { fromCurveSeed } from "@nats-io/nkeys";
import { connect, type Msg, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedNatsServer, spawnNatsServer } from "../../src/nats/embedded-nats.js";
import { createNatsKeys } from "../../src/nats/nats-keys.js";
import { createNativeSigner, verifyNatsJwt } from "../../src/nkeys/native-signer.js";
import { localNatsServerBinary } from "../support/harness.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keys = createNatsKeys();
const subject = "chat.room1";
const userName = "ws-user";
const xkey = fromCurveSeed(encoder.encode(keys.xkey.seed));
const issuer = createNativeSigner(keys.issuer.seed);

let server: EmbeddedNatsServer;
let pnm: NatsConnection;
let system: NatsConnection;
const requests: AuthorizationRequest[] = [];
/** The fields of a $SYS.ACCOUNT.PNM.CONNECT / DISCONNECT advisory the tests read. */
interface ClientEvent {
  server: { id: string };
  client?: { id: number; acc?: string; user?: string; kind?: string; client_type?: string };
  reason?: string;
}
const events: { subject: string; body: ClientEvent }[] = [];
const chat: string[] = [];

function isComplete(request: Partial<AuthorizationRequest>): request is AuthorizationRequest {
  return Boolean(request.server_id?.id && request.user_nkey && request.connect_opts && request.client_info);
}

/**
 * The smallest callout that follows the rules the real service must: sealed
 * requests only, the request verified and bound to the sealing server, the answer
 * signed by the issuer and sealed back. Token "anything" is admitted over
 * WebSocket only; "skip-type-check" gets the same user without the callout's own
 * connection-type check; every other token gets an error answer.
 */
async function answer(msg: Msg): Promise<void> {
  const serverXkey = msg.headers?.get("Nats-Server-Xkey");
  if (!serverXkey) throw new Error("unsealed callout request");
  const opened = xkey.open(msg.data, serverXkey);
  if (!opened) throw new Error("callout request does not open");
  const claims = verifyNatsJwt<AuthorizationRequest>(decoder.decode(opened), {
    audience: "nats-authorization-request",
  });
  const request = claims.nats;
  if (!isComplete(request)) throw new Error("callout request lacks fields");
  if (claims.iss !== request.server_id.id || request.server_id.xkey !== serverXkey)
    throw new Error("request not bound to its server");
  requests.push(request);
  const token = request.connect_opts.auth_token;
  // nats-server 2.10.27 ignores allowed_connection_types in callout-issued users,
  // so the callout itself must refuse non-WebSocket clients.
  const admitted = (token === "anything" && request.client_info.type === "websocket") || token === "skip-type-check";
  const data = admitted
    ? {
        jwt: await encodeUser(
          userName,
          request.user_nkey,
          issuer,
          { pub: { allow: [subject] }, sub: { allow: [subject] }, allowed_connection_types: ["WEBSOCKET"] },
          { aud: "PNM", exp: Math.floor(Date.now() / 1000) + 60 },
        ),
      }
    : { error: "token rejected" };
  const response = await encodeAuthorizationResponse(request.user_nkey, request.server_id.id, issuer, data, {});
  msg.respond(xkey.seal(encoder.encode(response), serverXkey));
}

/** A JSON line from fixtures/ws-client.mjs; which fields it has depends on the event. */
interface WsEvent {
  event: "connected" | "published" | "refused" | "closed" | "timeout";
  cid?: number;
  serverId?: string;
  error?: string | null;
}

interface WsClient {
  next(event: WsEvent["event"]): Promise<WsEvent>;
}

function startWsClient(token: string): WsClient {
  const fixture = fileURLToPath(new URL("./fixtures/ws-client.mjs", import.meta.url));
  const flags = typeof globalThis.WebSocket === "undefined" ? ["--experimental-websocket", "--no-warnings"] : [];
  const child = spawn(process.execPath, [...flags, fixture, server.wsUrl, token, subject], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: WsEvent[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    async next(event) {
      while (true) {
        const index = lines.findIndex((line) => line.event === event || line.event === "timeout");
        if (index >= 0) return lines.splice(0, index + 1).at(-1)!;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

async function eventFor(kind: "CONNECT" | "DISCONNECT", cid: number): Promise<ClientEvent> {
  for (let waited = 0; waited < 5000; waited += 20) {
    const found = events.find((event) => event.subject === `$SYS.ACCOUNT.PNM.${kind}` && event.body.client?.id === cid);
    if (found) return found.body;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${kind} event for cid ${cid}`);
}

beforeAll(async () => {
  server = await spawnNatsServer({ binary: localNatsServerBinary(), keys });
  system = await connect({
    servers: server.url,
    authenticator: nkeyAuthenticator(encoder.encode(keys.systemUser.seed)),
  });
  system.subscribe("$SYS.ACCOUNT.PNM.>", {
    callback: (_, msg) => {
      events.push({ subject: msg.subject, body: msg.json<ClientEvent>() });
    },
  });
  await system.flush();
  pnm = await connect({ servers: server.url, authenticator: nkeyAuthenticator(encoder.encode(keys.serverUser.seed)) });
  pnm.subscribe("$SYS.REQ.USER.AUTH", {
    callback: (_, msg) =>
      void answer(msg).catch((error: unknown) => console.error("callout failed:", (error as Error).message)),
  });
  pnm.subscribe(subject, {
    callback: (_, msg) => {
      chat.push(msg.string());
    },
  });
  await pnm.flush();
});

afterAll(async () => {
  await Promise.allSettled([pnm?.close(), system?.close()]);
  await server?.stop();
});

describe("auth callout end to end (nats-server with the generated config)", () => {
  it("admits a WebSocket client the callout accepts, which can publish in PNM and be kicked", async () => {
    const client = startWsClient("anything");
    const connected = await client.next("connected");
    expect(connected.event).toBe("connected");
    await client.next("published");
    await pnm.flush();
    expect(chat).toContain("hello over websocket");

    const request = requests.find((each) => each.connect_opts.auth_token === "anything")!;
    expect(request.client_info).toMatchObject({ kind: "Client", type: "websocket", name: "ws-probe" });
    expect(request.user_nkey).toMatch(/^U/);

    const connect = await eventFor("CONNECT", connected.cid!);
    expect(connect.client).toMatchObject({ acc: "PNM", user: userName, client_type: "websocket", kind: "Client" });
    expect(connect.server.id).toBe(connected.serverId);

    const reply = await system.request(
      `$SYS.REQ.SERVER.${connected.serverId}.KICK`,
      JSON.stringify({ cid: connected.cid }),
      { timeout: 5000 },
    );
    expect(reply.json<Record<string, unknown>>().error).toBeUndefined();
    expect((await client.next("closed")).event).toBe("closed");
    expect((await eventFor("DISCONNECT", connected.cid!)).reason).toBe("Kicked");
  });

  it("refuses a client whose callout answer is an error", async () => {
    const client = startWsClient("wrong");
    const refused = await client.next("refused");
    expect(refused.error).toMatch(/Authorization Violation/i);
    expect(requests.some((each) => each.connect_opts.auth_token === "wrong")).toBe(true);
  });

  it("refuses a plain TCP client through the callout's own connection-type check", async () => {
    await expect(connect({ servers: server.url, token: "anything", reconnect: false, timeout: 5000 })).rejects.toThrow(
      /Authorization Violation/i,
    );
    expect(
      requests.find((each) => each.connect_opts.auth_token === "anything" && each.client_info.type === "nats"),
    ).toBeDefined();
  });

  it("shows that nats-server does not enforce allowed_connection_types of callout users", async () => {
    // If this starts failing after a server upgrade, the server enforces the JWT's
    // WEBSOCKET-only restriction itself and the callout check becomes a second line.
    const nc = await connect({ servers: server.url, token: "skip-type-check", reconnect: false, timeout: 5000 });
    try {
      nc.publish(subject, "hello over tcp");
      await nc.flush();
      await pnm.flush();
      expect(chat).toContain("hello over tcp");
    } finally {
      await nc.close();
    }
  });

  it("keeps the system user to its granted subjects", async () => {
    const nc = await connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(encoder.encode(keys.systemUser.seed)),
    });
    try {
      await expect(nc.request("$SYS.REQ.SERVER.PING", "", { timeout: 2000 })).rejects.toThrow();
      const connz = await nc.request("$SYS.REQ.ACCOUNT.PNM.CONNZ", "{}", { timeout: 2000 });
      expect(connz.json<{ data: { num_connections: number } }>().data.num_connections).toBeGreaterThanOrEqual(1);
    } finally {
      await nc.close();
    }
  });
});
