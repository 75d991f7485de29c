import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../logger.js";
import { createNonceStore } from "../store/nonce-store.js";
import { type ApiKeyring, createApiKeyring } from "./api-keyring.js";
import { readApiKeysFile, watchApiKeysFile } from "./api-keys-file.js";
import {
  type ApiSignatureVerifier,
  createApiSignatureVerifier,
  defaultSignatureWindowMs,
  type SignatureMode,
} from "./api-signature.js";

/**
 * The settings API authentication reads: declared here rather than taken
 * from PnmConfig, which has them, because the configuration sits in a layer
 * above auth/ (server/src/README.md).
 */
export interface ApiAuthSettings {
  /** The one API key (PNM_API_KEY); unused when `apiKeysFile` is set. */
  apiKey: string;
  /** Its secret (PNM_API_SECRET); unused when `apiKeysFile` is set. */
  apiSecret: string;
  /** A JSON file of API key pairs (PNM_API_KEYS_FILE), followed for changes. */
  apiKeysFile?: string;
  /** Which request signatures are accepted (PNM_API_SIGNATURE). */
  apiSignature?: SignatureMode;
  /** How far a PNM-SIGNATURE timestamp may be from the server's clock (PNM_SIGNATURE_WINDOW). */
  signatureWindowMs?: number;
  /** Replicas of the nonce bucket (PNM_NATS_REPLICAS, as resolved at start); default 1. */
  natsReplicas?: number;
}

/** What `startApiAuth` needs. */
export interface ApiAuthOptions {
  /** The API key and signature settings. */
  config: ApiAuthSettings;
  /** For the nonce bucket of PNM-SIGNATURE. */
  nc: NatsConnection;
  /** Hears about reloads of the keys file, and files that could not be used. */
  logger: Logger;
}

/** How server-to-server callers are authenticated, and the keys access tokens are signed with. */
export interface ApiAuth {
  /** The active API key pairs: the keys file's (kept in step with it), or the one configured pair. */
  keys: ApiKeyring;
  /** Checks API-KEY and the signature of RoomService requests against `keys`. */
  signature: ApiSignatureVerifier;
  /** Stops following the keys file. */
  close(): void;
}

/**
 * The API keys (PNM_API_KEYS_FILE, or PNM_API_KEY/PNM_API_SECRET) and the
 * signature verifier over them, with its nonce bucket. Nonces are kept for
 * twice the window: a timestamp may be up to one window ahead of the clock
 * when its nonce is first used and stays fresh until one window after it, so
 * a replay would pass the timestamp check for up to two windows after the
 * first use, and no longer.
 */
export async function startApiAuth(options: ApiAuthOptions): Promise<ApiAuth> {
  const { config } = options;
  const file = config.apiKeysFile;
  const keys = createApiKeyring(file ? readApiKeysFile(file) : [{ key: config.apiKey, secret: config.apiSecret }]);
  const windowMs = config.signatureWindowMs ?? defaultSignatureWindowMs;
  const nonces = await createNonceStore({ nc: options.nc, ttlMs: 2 * windowMs, replicas: config.natsReplicas });
  const signature = createApiSignatureVerifier({ keys, nonces, mode: config.apiSignature, windowMs });
  const watch = file ? watchApiKeysFile({ file, keyring: keys, logger: options.logger }) : undefined;
  return { keys, signature, close: () => watch?.close() };
}
