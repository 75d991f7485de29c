import { createHash, createHmac, randomBytes } from "node:crypto";
import type { ApiKeyring } from "../auth/api-keyring.js";
import { canonicalStringV2 } from "../auth/signature-v2.js";

/** What the dev signing route signs: one server-to-server request the demo page is about to send. */
export interface DevSignRequest {
  /** The route: one of RoomService's, REST (`/auth/room/create`) or RPC (`/pnm.v1.RoomService/CreateRoom`). */
  path: string;
  /** The body exactly as the page will send it. */
  body: string;
}

/** The headers that make the request signed (signature v2), to send as they are. */
export interface DevSignature {
  "API-KEY": string;
  "PNM-SIGNATURE": string;
}

/** RoomService's routes: the only ones the dev signer signs for. */
const signablePath = /^\/(auth\/room\/[A-Za-z]+|pnm\.v1\.RoomService\/[A-Za-z]+)$/;

/** Whether `path` is a route the dev signer signs for. */
export function isSignablePath(path: string): boolean {
  return signablePath.test(path);
}

/**
 * Signs a POST to `path` with the newest API key pair, as a backend would:
 * in dev mode the demo's pages get their requests signed here and never see
 * the secret. Anyone who can reach the server can use it, which is why it
 * exists in dev mode only.
 */
export function signForDemo(keys: ApiKeyring, request: DevSignRequest, nowMs = Date.now()): DevSignature {
  const credential = keys.newest();
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(16).toString("base64url");
  const bodyDigest = createHash("sha256").update(request.body, "utf8").digest("hex");
  const canonical = canonicalStringV2({ method: "POST", path: request.path, timestamp, nonce, bodyDigest });
  const sig = createHmac("sha256", credential.secret).update(canonical).digest("hex");
  return { "API-KEY": credential.key, "PNM-SIGNATURE": `v2;ts=${timestamp};nonce=${nonce};sig=${sig}` };
}
