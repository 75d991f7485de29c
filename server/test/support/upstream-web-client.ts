import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type ConsumerMessages, type JetStreamClient, jetstream, type PubAck } from "@nats-io/jetstream";
import { type NatsConnection, tokenAuthenticator, wsconnect } from "@nats-io/nats-core";
import { nodeWebSocket } from "@pnm/client/node";
import {
  type NatsMsgClientToServerEvent,
  NatsMsgClientToServerSchema,
  type NatsMsgServerToClient,
  NatsMsgServerToClientEvent,
  NatsMsgServerToClientSchema,
} from "@pnm/protocol/pnm/v1/nats_msg_pb";
import {
  VerifyTokenRequestSchema,
  type VerifyTokenResponse,
  VerifyTokenResponseSchema,
} from "@pnm/protocol/pnm/v1/verify_token_pb";

/**
 * A participant that speaks to pnm as upstream's web client (2.4) does, with
 * nats.js's defaults: VerifyToken over `/api/verifyToken`, a WebSocket
 * connect with the token and the default `_INBOX` prefix, its durable
 * consumer `<room>_<user>` on `room_stream_name` read with `consume()` and
 * explicit acks, requests published with JetStream on its worker subject.
 * Unlike the web client it does not reconnect unless asked, so that a kick is seen.
 */
export interface UpstreamStyleClient {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  /** VerifyToken's answer: room, user, stream, subjects. */
  readonly verified: VerifyTokenResponse;
  /** The access token it joined with. */
  readonly token: string;
  /** Every server message its consumer delivered, in order. */
  readonly received: NatsMsgServerToClient[];
  /** Publishes a request on `sysJsWorker.<room>.<user>` with JetStream; resolves with JetStream's acknowledgement. */
  send(event: NatsMsgClientToServerEvent, msg?: string): Promise<PubAck>;
  /** The next consumer message of `event` not taken yet; rejects after `ms`. */
  next(event: NatsMsgServerToClientEvent, ms?: number): Promise<NatsMsgServerToClient>;
  close(): Promise<void>;
}

/** Runs VerifyToken as upstream's web client does: binary VerifyTokenReq, the raw token in `Authorization`. */
export async function verifyAsUpstream(baseUrl: string, token: string): Promise<VerifyTokenResponse> {
  const res = await fetch(`${baseUrl}/api/verifyToken`, {
    method: "POST",
    headers: { "content-type": "application/protobuf", authorization: token },
    body: toBinary(VerifyTokenRequestSchema, create(VerifyTokenRequestSchema, { isProduction: true })),
  });
  const verified = fromBinary(VerifyTokenResponseSchema, new Uint8Array(await res.arrayBuffer()));
  if (res.status !== 200 || !verified.status)
    throw new Error(`VerifyToken refused: ${res.status} ${res.headers.get("pnm-failure-reason")}`);
  return verified;
}

export interface UpstreamStyleClientOptions {
  /** Reconnect as the web client does (nats.js's default) after a drop or a kick; default false. */
  reconnect?: boolean;
}

export async function joinAsUpstreamWebClient(
  baseUrl: string,
  token: string,
  options: UpstreamStyleClientOptions = {},
): Promise<UpstreamStyleClient> {
  const verified = await verifyAsUpstream(baseUrl, token);
  const roomId = verified.roomId!;
  const userId = verified.userId!;
  const nc = await wsconnect({
    servers: verified.natsWsUrls,
    authenticator: tokenAuthenticator(() => token),
    noEcho: true,
    reconnect: options.reconnect ?? false,
    name: `plugnmeet-client-${roomId}_${userId}`,
    wsFactory: async (url) => ({ socket: new nodeWebSocket(url), encrypted: false }),
  });
  const js = jetstream(nc);
  const received: NatsMsgServerToClient[] = [];
  const taken = new Set<NatsMsgServerToClient>();
  const waiters = new Set<() => void>();
  let messages: ConsumerMessages;
  try {
    const consumer = await js.consumers.get(verified.roomStreamName!, `${roomId}_${userId}`);
    messages = await consumer.consume({
      callback: (m) => {
        received.push(fromBinary(NatsMsgServerToClientSchema, m.data));
        m.ack();
        for (const wake of waiters) wake();
      },
    });
  } catch (error) {
    await nc.close();
    throw error;
  }
  const worker = `${verified.natsSubjects!.systemJsWorker}.${roomId}.${userId}`;
  return {
    nc,
    js,
    verified,
    token,
    received,
    send: (event, msg = "") =>
      js.publish(
        worker,
        toBinary(
          NatsMsgClientToServerSchema,
          create(NatsMsgClientToServerSchema, { id: crypto.randomUUID(), event, msg }),
        ),
      ),
    next(event, ms = 5_000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = received.find((m) => m.event === event && !taken.has(m));
          if (!found) return false;
          taken.add(found);
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const wake = () => void look();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no ${NatsMsgServerToClientEvent[event]} within ${ms} ms`));
        }, ms);
        if (!look()) waiters.add(wake);
      });
    },
    async close() {
      messages.stop();
      if (!nc.isClosed()) await nc.close();
    },
  };
}
