import type { NatsConnection } from "@nats-io/nats-core";
import { createAccessTokenCodec } from "./auth/access-token.js";
import { startApiAuth } from "./auth/api-auth.js";
import { defaultMaxSessionMs, type PnmConfig } from "./config.js";
import { createConnectRoutes, type NodeHandler } from "./http/connect-routes.js";
import { withCors } from "./http/cors.js";
import { type DualProtocolListener, listenDualProtocol } from "./http/listener.js";
import { createRestRoutes } from "./http/rest-routes.js";
import { consoleLogger, type Logger } from "./logger.js";
import { createMediaTokenIssuer } from "./media/media-tokens.js";
import type { NatsKeys } from "./nats/nats-keys.js";
import { ensureRoomStreams } from "./nats/room-streams.js";
import { createConnectionAdmission } from "./plane/admission.js";
import { startAuthCallout } from "./plane/auth-callout.js";
import { createKicker, type Kicker } from "./plane/kicker.js";
import { participantLimits } from "./plane/participant-limits.js";
import { createParticipantMessenger } from "./plane/participant-messenger.js";
import { startParticipantRequests } from "./plane/participant-requests.js";
import { participantPermissions } from "./plane/permissions.js";
import { startPresenceTracker } from "./plane/presence.js";
import { startPublishMonitor } from "./plane/publish-monitor.js";
import { createRequestLimiter } from "./plane/request-limits.js";
import { createSessionControl } from "./plane/session-control.js";
import { createParticipantService, type ParticipantService } from "./services/participant-service.js";
import { createRoomService } from "./services/room-service.js";
import { createTokenRenewal, type TokenRenewal } from "./services/token-renewal.js";
import { createRoomStore } from "./store/room-store.js";

/**
 * What the app is composed of: connections and keys the caller owns. The
 * app neither opens nor closes them; `startPnmServer` does both.
 */
export interface PnmAppOptions {
  config: PnmConfig;
  nc: NatsConnection;
  /** A connection as the system user: connection events and kicks. */
  systemNc: NatsConnection;
  /** The deployment's NATS keys: the auth callout signs with them. */
  keys: NatsKeys;
  /**
   * Replaces parts of the composition, each handed pnm's own: for variants
   * such as instrumentation, or the harness's planted-fault servers.
   */
  decorate?: PnmAppDecorators;
  logger?: Logger;
}

export interface PnmAppDecorators {
  /** What closes NATS connections: duplicate sessions, removals, room ends. */
  kicker?: (own: Kicker) => Kicker;
  /** Token renewal over NATS. */
  renewal?: (own: TokenRenewal) => TokenRenewal;
  /** The participant checks the auth callout's admission runs (VerifyToken keeps pnm's own). */
  admissionParticipants?: (own: ParticipantService) => ParticipantService;
  /** The NATS permissions the auth callout grants. */
  permissions?: (own: typeof participantPermissions) => typeof participantPermissions;
}

export interface PnmApp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * pnm's parts wired together on NATS connections the caller opened, serving
 * HTTP on `config.host`/`config.httpPort`.
 */
export async function startPnmApp(options: PnmAppOptions): Promise<PnmApp> {
  const { config, nc } = options;
  const logger = options.logger ?? consoleLogger;
  const store = await createRoomStore({ nc });
  const limits = participantLimits(config);
  const js = await ensureRoomStreams(nc, limits.workerQueue);
  const auth = await startApiAuth({ config, nc, logger });
  const tokens = createAccessTokenCodec(auth.keys);
  const signature = auth.signature;
  const timings = { pendingMs: 10_000, offlineAfterMs: config.offlineAfterMs };
  const decorate = options.decorate ?? {};
  const use = <T>(own: T, decorator: ((own: T) => T) | undefined): T => (decorator ? decorator(own) : own);
  const kicker = use(createKicker(options.systemNc, logger), decorate.kicker);
  const messenger = createParticipantMessenger(js);
  const sessions = createSessionControl(messenger, kicker, logger);
  const maxSessionMs = config.maxSessionMs ?? defaultMaxSessionMs;
  const rooms = createRoomService({
    store,
    tokens,
    tokenValidityMs: config.tokenValidityMs,
    maxSessionMs,
    timings,
    sessions,
  });
  const participants = createParticipantService({ store, tokens, natsWsUrls: () => config.natsWsUrls, timings });
  const renewal = use(
    createTokenRenewal({
      tokens,
      participants,
      tokenValidityMs: config.tokenValidityMs,
      graceMs: config.renewalGraceMs,
      maxSessionMs,
    }),
    decorate.renewal,
  );
  const admission = createConnectionAdmission({
    store,
    participants: use(participants, decorate.admissionParticipants),
    kicker,
    timings,
  });
  const callout = startAuthCallout({
    nc,
    keys: options.keys,
    admission,
    logger,
    permissions: use(participantPermissions, decorate.permissions),
  });
  const presence = startPresenceTracker({ systemConnection: options.systemNc, store, timings, logger });
  const media =
    config.livekit && createMediaTokenIssuer({ livekit: config.livekit, tokenValidityMs: config.tokenValidityMs });
  const limiter = createRequestLimiter({ limit: limits.request, messenger });
  const requests = await startParticipantRequests({
    nc,
    js,
    participants,
    renewal,
    messenger,
    logger,
    media,
    waitingRoom: rooms,
    limiter,
  });
  const publishMonitor = startPublishMonitor({ systemNc: options.systemNc, sessions, limits: limits.publish, logger });
  await Promise.all([nc.flush(), options.systemNc.flush()]);
  const routeOptions = { rooms, participants, signature, maxBodyBytes: config.maxBodyBytes, logger };
  const routes = new Map([...createConnectRoutes(routeOptions), ...createRestRoutes(routeOptions)]);
  for (const path of ["/pnm.v1.ParticipantService/VerifyToken", "/api/verifyToken"]) {
    routes.set(path, withCors({ allowedOrigins: config.corsOrigins }, routes.get(path)!));
  }

  const handler: NodeHandler = (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const route = routes.get(path);
    if (route) return route(req, res);
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "text/plain" });
      return void res.end("ok");
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  };
  const stopServices = async () => {
    auth.close();
    callout.subscription.unsubscribe();
    presence.close();
    await publishMonitor.close();
    await requests.close();
  };
  let listener: DualProtocolListener;
  try {
    listener = await listenDualProtocol({ host: config.host, port: config.httpPort, handler, limits: config, logger });
  } catch (error) {
    // The port is taken or not ours to use: nothing may keep answering on NATS for a server that never started.
    await stopServices();
    throw error;
  }
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${listener.port}`,
    port: listener.port,
    async close() {
      await listener.close();
      await stopServices();
    },
  };
}
