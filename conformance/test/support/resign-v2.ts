import { randomBytes } from "node:crypto";
import { framingOf } from "../../src/signature.js";
import { signV2, verifySignatureV2 } from "../../src/signature-v2.js";
import type { ProxiedRequest } from "./faulty-proxy.js";

/** Every path a signed call can take, REST and RPC: a PNM-SIGNATURE made for one of them may be moved to another. */
const signedPaths = [
  ...["create", "getJoinToken", "isRoomActive", "endRoom", "removeParticipant"].map((route) => `/auth/room/${route}`),
  ...["CreateRoom", "GetJoinToken", "IsRoomActive", "EndRoom", "RemoveParticipant"].map(
    (method) => `/pnm.v1.RoomService/${method}`,
  ),
];

export interface SignatureV2Change {
  /** Accept a header made for any signed path, and sign it anew for the path it was sent to. */
  anyPath?: boolean;
  /** Sign anew with a fresh nonce. */
  freshNonce?: boolean;
  /** Sign anew with the current time. */
  currentTime?: boolean;
}

/**
 * What a server that skips part of the v2 check would accept, made acceptable
 * to the real one: a PNM-SIGNATURE that is genuine (the proxy knows the
 * secret) is signed again with the parts that server ignores replaced. A
 * request without PNM-SIGNATURE, or with one not made with the secret, passes
 * unchanged.
 */
export function resignV2(req: ProxiedRequest, apiSecret: string, change: SignatureV2Change): ProxiedRequest {
  const header = req.headers["pnm-signature"];
  const fields = header && /^v2;ts=(\d+);nonce=([A-Za-z0-9_-]+);sig=[0-9a-f]{64}$/.exec(header);
  if (!fields) return req;
  const path = req.path.split("?", 1)[0]!;
  const framing = framingOf(req.headers["content-type"]);
  const genuineFor = (p: string) =>
    verifySignatureV2({
      secret: apiSecret,
      method: req.method,
      path: p,
      body: req.body,
      framing,
      header,
      nowSeconds: Number(fields[1]),
      windowSeconds: 0,
    }) === "valid";
  if (!genuineFor(path) && !(change.anyPath && signedPaths.some(genuineFor))) return req;
  const request = {
    method: req.method,
    path,
    timestamp: change.currentTime ? Math.floor(Date.now() / 1000) : Number(fields[1]),
    nonce: change.freshNonce ? randomBytes(16).toString("base64url") : fields[2]!,
  };
  return { ...req, headers: { ...req.headers, "pnm-signature": signV2(apiSecret, request, req.body, framing) } };
}
