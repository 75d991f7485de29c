import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { createAccessTokenCodec } from "./auth/access-token.js";
import { startApiAuth } from "./auth/api-auth.js";
import { defaultMaxSessionMs, type PnmConfig } from "./config.js";
import { ConfigError } from "./config-error.js";
import { pnmError } from "./errors.js";
import { createConnectRoutes, type NodeHandler } from "./http/connect-routes.js";
import { withCors } from "./http/cors.js";
import { createDevRoutes, type DevRoutes } from "./http/dev-routes.js";
import { createHealthRoutes } from "./http/health.js";
import { type DualProtocolListener, listenDualProtocol } from "./http/listener.js";
import { listenMetrics, type MetricsListener } from "./http/metrics-listener.js";
import { createRestRoutes } from "./http/rest-routes.js";
import { consoleLogger, type Logger } from "./logger.js";
import { createMediaTokenIssuer } from "./media/media-tokens.js";
import { createPnmMetrics, observeNatsConnection } from "./metrics.js";
import { pnmKvStreams, probeStreams, watchConnection } from "./nats/nats-health.js";
import type { NatsKeys } from "./nats/nats-keys.js";
import { resolveReplicas } from "./nats/replicas.js";
import { ensureRoomStreams } from "./nats/room-streams.js";
import { createServerLiveness } from "./nats/server-liveness.js";
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
import { createRoomRoster } from "./plane/room-roster.js";
import { createSessionControl } from "./plane/session-control.js";
import { createUpstreamApprovalNotice } from "./plane/upstream-approval.js";
import { createUpstreamConsumers } from "./plane/upstream-web-client.js";
import { createSeatLedger } from "./rooms/seat-ledger.js";
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
  /** `http://host:port/metrics` when `config.metricsPort` is set (PNM_METRICS_PORT). */
  readonly metricsUrl?: string;
  /** `http://host:port/demo/` in dev mode when the demo is built (`config.devMode`, `config.demoDir`). */
  readonly demoUrl?: string;
  /**
   * Stops serving: stops accepting connections and taking auth-callout
   * requests (other instances in the queue group take them), gives the
   * requests in flight up to `graceMs` (default 0) to finish, then ends the rest.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * pnm's parts wired together on NATS connections the caller opened, serving
 * HTTP on `config.host`/`config.httpPort`.
 */
export async function startPnmApp(options: PnmAppOptions): Promise<PnmApp> {
  const { nc } = options;
  const natsReplicas = resolveReplicas(nc, options.config.natsReplicas);
  const config: PnmConfig = { ...options.config, natsReplicas };
  const logger = options.logger ?? consoleLogger;
  // One registry per app: several servers in one process count apart.
  const metrics = createPnmMetrics({ processMetrics: config.metricsPort !== undefined });
  observeNatsConnection(metrics, nc, "server");
  observeNatsConnection(metrics, options.systemNc, "system");
  const store = await createRoomStore({ nc, replicas: natsReplicas, metrics });
  const limits = participantLimits(config);
  const js = await ensureRoomStreams(nc, limits.workerQueue, natsReplicas);
  const auth = await startApiAuth({ config, nc, logger });
  const tokens = createAccessTokenCodec(auth.keys);
  const signature = auth.signature;
  const timings = { pendingMs: 10_000, offlineAfterMs: config.offlineAfterMs };
  const decorate = options.decorate ?? {};
  const use = <T>(own: T, decorator: ((own: T) => T) | undefined): T => (decorator ? decorator(own) : own);
  const kicker = use(createKicker(options.systemNc, logger), decorate.kicker);
  const messenger = createParticipantMessenger(js);
  // Only a server that opens rooms to upstream's web client creates (and deletes) consumers for participants.
  const upstreamConsumers = config.upstreamWebClient
    ? createUpstreamConsumers({
        jsm: await jetstreamManager(nc),
        logger,
        inactiveAfterMs: config.offlineAfterMs + 60_000,
      })
    : undefined;
  const sessions = createSessionControl(
    messenger,
    kicker,
    logger,
    upstreamConsumers?.close,
    config.upstreamWebClient ? createUpstreamApprovalNotice({ store, messenger }) : undefined,
  );
  const maxSessionMs = config.maxSessionMs ?? defaultMaxSessionMs;
  const liveness = createServerLiveness({ systemConnection: options.systemNc });
  // One ledger: a full room's recounts are shared by every path that takes a seat on this instance.
  const ledger = createSeatLedger({ store, timings, liveness });
  const rooms = createRoomService({
    store,
    ledger,
    tokens,
    tokenValidityMs: config.tokenValidityMs,
    maxSessionMs,
    timings,
    sessions,
    upstreamWebClient: config.upstreamWebClient,
  });
  const participants = createParticipantService({
    store,
    ledger,
    tokens,
    natsWsUrls: () => config.natsWsUrls,
    timings,
  });
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
    metrics,
    ledger,
  });
  const callout = startAuthCallout({
    nc,
    keys: options.keys,
    admission,
    logger,
    permissions: use(participantPermissions, decorate.permissions),
    metrics,
    upstreamConsumers,
  });
  const presence = startPresenceTracker({
    systemConnection: options.systemNc,
    store,
    ledger,
    timings,
    logger,
    onOffline: upstreamConsumers?.close,
  });
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
    roster: createRoomRoster({ store, ledger }),
    upstreamWebClient: config.upstreamWebClient,
  });
  const publishMonitor = startPublishMonitor({ systemNc: options.systemNc, sessions, limits: limits.publish, logger });
  await Promise.all([nc.flush(), options.systemNc.flush()]);
  const routeOptions = { rooms, participants, signature, maxBodyBytes: config.maxBodyBytes, logger, metrics };
  // Both connections, followed from their status events: requests are refused at once while either is down.
  const links = [watchConnection(nc), watchConnection(options.systemNc)];
  const natsConnected = () => links.every((link) => link.connected());
  const unavailable = () =>
    natsConnected()
      ? undefined
      : pnmError(FailureReason.NATS_UNAVAILABLE, "the server cannot reach NATS at the moment; try again shortly");
  let shuttingDown = false;
  const health = createHealthRoutes({
    nats: () => (natsConnected() ? undefined : "disconnected from NATS"),
    jetstream: () =>
      natsConnected() ? probeStreams(nc, pnmKvStreams, 1_000) : "unreachable while NATS is disconnected",
    authCallout: () =>
      shuttingDown || callout.subscription.isClosed() || callout.subscription.isDraining()
        ? "not subscribed"
        : undefined,
  });
  const routes = new Map([
    ...createConnectRoutes({ ...routeOptions, unavailable }),
    ...createRestRoutes({ ...routeOptions, unavailable }),
    ...health,
  ]);
  for (const path of ["/pnm.v1.ParticipantService/VerifyToken", "/api/verifyToken"]) {
    routes.set(path, withCors({ allowedOrigins: config.corsOrigins }, routes.get(path)!));
  }

  const handler: NodeHandler = (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const route = routes.get(path);
    if (route) return route(req, res);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  };
  const stopServices = async () => {
    auth.close();
    if (!callout.subscription.isClosed()) callout.subscription.unsubscribe();
    presence.close();
    await publishMonitor.close();
    await requests.close();
  };
  // Dev mode, when unset, follows the credentials: generated dev credentials mean a developer's machine.
  let dev: DevRoutes | undefined;
  let listener: DualProtocolListener;
  try {
    if (config.devMode ?? config.devCredentialsFile !== undefined) {
      dev = await createDevRoutes({
        keys: auth.keys,
        nc,
        natsWsUrls: config.natsWsUrls,
        demoDir: config.demoDir,
        maxBodyBytes: config.maxBodyBytes,
        host: config.host,
        wire: { maxStreams: config.demoWireStreams, maxBufferedBytes: config.demoWireBacklogBytes },
        logger,
      });
      for (const [path, route] of dev.routes) routes.set(path, route);
    }
    listener = await listenDualProtocol({ host: config.host, port: config.httpPort, handler, limits: config, logger });
  } catch (error) {
    // The port is taken or not ours to use, or the demo unreadable: nothing may keep answering on NATS for a server that never started.
    await stopServices();
    throw error;
  }
  let metricsListener: MetricsListener | undefined;
  if (config.metricsPort !== undefined) {
    const metricsHost = config.metricsHost ?? "127.0.0.1";
    try {
      metricsListener = await listenMetrics({
        host: metricsHost,
        port: config.metricsPort,
        registry: metrics.registry,
      });
    } catch (error) {
      await listener.close();
      await stopServices();
      throw new ConfigError(
        `PNM_METRICS_PORT: cannot listen on port ${config.metricsPort} of ${metricsHost} (${(error as Error).message}): set it to a free port, or unset it`,
        { cause: error },
      );
    }
  }
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${listener.port}`,
    port: listener.port,
    metricsUrl: metricsListener?.url,
    demoUrl: dev && config.demoDir ? `http://${host}:${listener.port}/demo/` : undefined,
    async close(graceMs = 0) {
      shuttingDown = true;
      // Open wire streams would hold the drain for the whole grace.
      dev?.close();
      const drained = listener.drain(graceMs);
      logger.info("shutdown: stopped accepting connections");
      // Unsubscribed at once, so nats-server hands new auth-callout requests to the other instances.
      callout.subscription.unsubscribe();
      logger.info("shutdown: stopped taking auth-callout requests");
      const unfinished = await drained;
      logger.info(
        unfinished === 0
          ? "shutdown: every request in flight has finished"
          : `shutdown: ${unfinished} request(s) still in flight after the grace of ${graceMs} ms are cut off`,
      );
      await Promise.all([listener.close(), metricsListener?.close()]);
      await stopServices();
    },
  };
}
