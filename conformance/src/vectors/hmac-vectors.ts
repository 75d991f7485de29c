import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { canonicalStringV2, createSigningHttpClient, signBody, signV2 } from "@pnm/client/protocol";
import { type SignedFraming, signatureHex, signedBytes, verifySignatureHeader } from "../signature.js";
import { canonicalV2, signV2 as harnessSignV2, verifySignatureV2 } from "../signature-v2.js";
import { bytesField, MalformedVectorError, numberField, stringField, type Vector } from "./vector-file.js";

/** `protocol` names how the body is framed; without it the body is the signed message itself. */
const protocols: Record<string, { framing: SignedFraming; contentType: string }> = {
  rest: { framing: "body", contentType: "application/json" },
  connect: { framing: "body", contentType: "application/proto" },
  grpc: { framing: "envelope", contentType: "application/grpc+proto" },
  "grpc-web": { framing: "envelope", contentType: "application/grpc-web+proto" },
};

/**
 * `hmac-signature`: the client SDK and the harness's signer both give
 * `signature` for the body. `hmac-verify`: the contract's check of a
 * HASH-SIGNATURE header value over the body gives `expect`.
 * `hmac-v2-signature`, `hmac-v2-verify`: the same for PNM-SIGNATURE (v2).
 */
export async function checkHmacVector(vector: Vector): Promise<string | undefined> {
  const secret = stringField(vector, "secret");
  const body = bytesField(vector, "body");
  const protocol = vector.protocol === undefined ? undefined : stringField(vector, "protocol");
  if (protocol !== undefined && !(protocol in protocols))
    throw new MalformedVectorError(`protocol must be one of ${Object.keys(protocols).join(", ")}`);
  const framing = protocol === undefined ? "body" : protocols[protocol]!.framing;
  switch (vector.type) {
    case "hmac-signature": {
      const expected = stringField(vector, "signature");
      const fromClient =
        protocol === undefined
          ? await signBody(secret, new Uint8Array(body))
          : await signedByClient(secret, body, protocols[protocol]!.contentType);
      if (fromClient !== expected)
        return `${protocol === undefined ? "signBody" : "the signing HTTP client"} (@pnm/client) gave ${fromClient}, expected ${expected}`;
      const fromHarness = signatureHex(secret, signedBytes(body, framing));
      return fromHarness === expected ? undefined : `the harness signer gave ${fromHarness}, expected ${expected}`;
    }
    case "hmac-verify": {
      const expected = stringField(vector, "expect");
      const outcome = verifySignatureHeader(secret, body, stringField(vector, "header"), framing);
      return outcome === expected ? undefined : `verification gave ${outcome}, expected ${expected}`;
    }
    case "hmac-v2-signature":
      return checkV2Signature(vector, secret, body, protocol);
    case "hmac-v2-verify": {
      const expected = stringField(vector, "expect");
      const outcome = verifySignatureV2({
        secret,
        method: stringField(vector, "method"),
        path: stringField(vector, "path"),
        body,
        framing,
        header: stringField(vector, "header"),
        nowSeconds: numberField(vector, "now"),
        windowSeconds: vector.windowSeconds === undefined ? 300 : numberField(vector, "windowSeconds"),
      });
      return outcome === expected ? undefined : `verification gave ${outcome}, expected ${expected}`;
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind hmac`);
  }
}

/**
 * `hmac-v2-signature`: the canonical string and the PNM-SIGNATURE value for
 * the inputs, from the client SDK (its signing HTTP client, given the
 * vector's clock and nonce, when `protocol` names a framing) and from the
 * harness's own signer.
 */
async function checkV2Signature(
  vector: Vector,
  secret: string,
  body: Uint8Array,
  protocol: string | undefined,
): Promise<string | undefined> {
  const request = {
    method: stringField(vector, "method"),
    path: stringField(vector, "path"),
    timestamp: numberField(vector, "timestamp"),
    nonce: stringField(vector, "nonce"),
  };
  const canonical = stringField(vector, "canonical");
  const header = stringField(vector, "header");
  const framing = protocol === undefined ? "body" : protocols[protocol]!.framing;
  const signed = signedBytes(body, framing);
  const fromHarness = canonicalV2(request, signed);
  if (fromHarness !== canonical)
    return `the harness's canonical string is ${JSON.stringify(fromHarness)}, expected ${JSON.stringify(canonical)}`;
  const fromClientCanonical = await canonicalStringV2({ ...request, message: new Uint8Array(signed) });
  if (fromClientCanonical !== canonical)
    return `canonicalStringV2 (@pnm/client) gave ${JSON.stringify(fromClientCanonical)}, expected ${JSON.stringify(canonical)}`;
  const fromClient =
    protocol === undefined
      ? await signV2(secret, { ...request, message: new Uint8Array(signed) })
      : await signedByClient(secret, body, protocols[protocol]!.contentType, { version: 2, ...request });
  if (fromClient !== header)
    return `${protocol === undefined ? "signV2" : "the signing HTTP client"} (@pnm/client) gave ${fromClient}, expected ${header}`;
  const harnessHeader = harnessSignV2(secret, request, body, framing);
  return harnessHeader === header ? undefined : `the harness signer gave ${harnessHeader}, expected ${header}`;
}

/** What the signing HTTP client is asked to sign with: v1, or v2 for this request at this time with this nonce. */
type ClientSigning = { version: 1 } | { version: 2; method: string; path: string; timestamp: number; nonce: string };

/** The signature header (HASH-SIGNATURE, or PNM-SIGNATURE for v2) the client SDK's signing HTTP client puts on a request with this body and content type. */
async function signedByClient(
  secret: string,
  body: Uint8Array,
  contentType: string,
  signing: ClientSigning = { version: 1 },
): Promise<string> {
  let signature = "";
  const capture: UniversalClientFn = async (request) => {
    signature = request.header.get(signing.version === 1 ? "HASH-SIGNATURE" : "PNM-SIGNATURE") ?? "";
    return { status: 200, header: new Headers(), body: (async function* () {})(), trailer: new Headers() };
  };
  const options =
    signing.version === 1
      ? { apiKey: "k", apiSecret: secret, signatureVersion: 1 as const }
      : {
          apiKey: "k",
          apiSecret: secret,
          signatureVersion: 2 as const,
          now: () => signing.timestamp * 1000,
          nonce: () => signing.nonce,
        };
  await createSigningHttpClient(
    capture,
    options,
  )({
    url: `http://localhost${signing.version === 1 ? "/pnm.v1.RoomService/IsRoomActive" : signing.path}`,
    method: signing.version === 1 ? "POST" : signing.method,
    header: new Headers({ "content-type": contentType }),
    body: (async function* () {
      yield body;
    })(),
    signal: new AbortController().signal,
  });
  return signature;
}
