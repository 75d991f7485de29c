import type { AuthorizationRequest } from "@nats-io/jwt";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { FailureReason } from "@pnm/protocol/pnm/v1/common_pb";
import { failureInfo, pnmError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PnmMetrics } from "../metrics.js";
import { pnmAccount } from "../nats/nats-config.js";
import type { NatsKeys } from "../nats/nats-keys.js";
import { createCurveBox } from "../nkeys/curve-box.js";
import { createNativeSigner, verifyNatsJwt } from "../nkeys/native-signer.js";
import { encodeAuthorizationResponseJwt, encodeUserJwt } from "../nkeys/nats-jwt-encoder.js";
import type { ConnectionAdmission } from "./admission.js";
import { participantPermissions, participantUserName, waitingRoomPermissions } from "./permissions.js";
import {
  isUpstreamWebClientRoom,
  type UpstreamConsumers,
  upstreamWebClientPermissions,
} from "./upstream-web-client.js";

export interface AuthCalloutOptions {
  /** The pnm server's own connection (an auth_users member of the callout account). */
  nc: NatsConnection;
  keys: NatsKeys;
  admission: ConnectionAdmission;
  logger: Logger;
  /** Default: participantPermissions. */
  permissions?: typeof participantPermissions;
  /** Counts decisions by reason, with their latency. */
  metrics?: PnmMetrics;
  /**
   * Set when PNM_UPSTREAM_WEB_CLIENT is on: participants of rooms open to
   * upstream's web client get its permissions and their consumer, created
   * before the connection is admitted. Unset: every room is strict.
   */
  upstreamConsumers?: UpstreamConsumers;
}

export interface AuthCalloutService {
  readonly subscription: Subscription;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const authCalloutSubject = "$SYS.REQ.USER.AUTH";
export const authCalloutQueue = "pnm-auth";

/** Whether a decoded authorization request has every field the callout reads. */
function isComplete(request: Partial<AuthorizationRequest>): request is AuthorizationRequest {
  return Boolean(
    request.server_id?.id && request.user_nkey && request.client_info?.id !== undefined && request.connect_opts,
  );
}

/**
 * Answers nats-server's authorization requests: sealed with the xkey only,
 * bound to the server that sealed them, for WebSocket clients only. An
 * admitted participant gets a user JWT with least-privilege permissions that
 * expires with its access token.
 */
export function startAuthCallout(options: AuthCalloutOptions): AuthCalloutService {
  const { nc, keys, admission, logger, metrics } = options;
  const xkey = createCurveBox(keys.xkey.seed);
  const issuer = createNativeSigner(keys.issuer.seed);

  async function answer(msg: Msg): Promise<void> {
    const started = process.hrtime.bigint();
    const decided = (decision: "allowed" | "refused", reason: string) => {
      metrics?.calloutDecisions.inc({ decision, reason });
      metrics?.calloutDuration.observe({ decision }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const serverXkey = msg.headers?.get("Nats-Server-Xkey");
    // Never log the request: it carries the participant's token.
    if (!serverXkey) {
      decided("refused", "REQUEST_UNSEALED");
      return void logger.error("auth callout: refused an unsealed request");
    }
    const opened = xkey.open(msg.data, serverXkey);
    if (!opened) {
      decided("refused", "REQUEST_SEAL_INVALID");
      return void logger.error("auth callout: a request did not open with the xkey");
    }
    let request: AuthorizationRequest;
    try {
      const claims = verifyNatsJwt<AuthorizationRequest>(decoder.decode(opened), {
        audience: "nats-authorization-request",
      });
      if (!isComplete(claims.nats)) throw new Error("request lacks fields");
      request = claims.nats;
      if (claims.iss !== request.server_id.id || request.server_id.xkey !== serverXkey) {
        throw new Error("request is not bound to the server that sealed it");
      }
    } catch (err) {
      decided("refused", "REQUEST_INVALID");
      return void logger.error("auth callout: refused an invalid request", err);
    }

    let data: { jwt: string } | { error: string };
    try {
      if (request.client_info.type !== "websocket") {
        // nats-server does not enforce allowed_connection_types for callout users, so the callout must.
        throw pnmError(FailureReason.CONNECTION_TYPE_NOT_ALLOWED, "participants connect over WebSocket only");
      }
      const { claims, room, waiting } = await admission.admit(request.connect_opts.auth_token, {
        cid: request.client_info.id!,
        serverId: request.server_id.id,
      });
      // A NATS user's permissions are fixed for its connection: approval closes a waiting one, and the reconnect gets the room's.
      const strict = (waiting ? waitingRoomPermissions : (options.permissions ?? participantPermissions))(
        claims.room_id,
        claims.sub,
      );
      const { upstreamConsumers } = options;
      const upstream = upstreamConsumers !== undefined && isUpstreamWebClientRoom(room, true);
      if (upstream) await upstreamConsumers.open(claims.room_id, claims.sub);
      const permissions = upstream ? upstreamWebClientPermissions(strict, claims.room_id, claims.sub) : strict;
      const jwt = encodeUserJwt(
        participantUserName(claims.room_id, claims.sub),
        request.user_nkey,
        issuer,
        // No subs/payload limits here: nats-server ignores them in callout users; the PNM account's limits apply (nats/nats-config.ts).
        { ...permissions, allowed_connection_types: ["WEBSOCKET"] },
        { aud: pnmAccount, exp: claims.exp },
      );
      data = { jwt };
      decided("allowed", "");
    } catch (err) {
      const info = failureInfo(err);
      if (info.reason === FailureReason.INTERNAL) logger.error("auth callout: admission failed", err);
      data = { error: `${FailureReason[info.reason]}: ${info.message}` };
      decided("refused", FailureReason[info.reason]);
    }
    const response = encodeAuthorizationResponseJwt(request.user_nkey, request.server_id.id, issuer, data);
    msg.respond(xkey.seal(encoder.encode(response), serverXkey));
  }

  const subscription = nc.subscribe(authCalloutSubject, {
    queue: authCalloutQueue,
    callback: (err, msg) => {
      if (err) return void logger.error("auth callout subscription failed", err);
      answer(msg).catch((e: unknown) => logger.error("auth callout: answer failed", e));
    },
  });
  return { subscription };
}
