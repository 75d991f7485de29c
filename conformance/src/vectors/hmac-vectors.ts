import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createSigningHttpClient, signBody } from "@pnm/client/protocol";
import { type SignedFraming, signatureHex, signedBytes, verifySignatureHeader } from "../signature.js";
import { bytesField, MalformedVectorError, stringField, type Vector } from "./vector-file.js";

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
 */
export async function checkHmacVector(vector: Vector): Promise<string | undefined> {
  const secret = stringField(vector, "secret");
  const body = bytesField(vector, "body");
  const protocol = vector.protocol === undefined ? undefined : stringField(vector, "protocol");
  if (protocol !== undefined && !(protocol in protocols)) throw new MalformedVectorError(`protocol must be one of ${Object.keys(protocols).join(", ")}`);
  const framing = protocol === undefined ? "body" : protocols[protocol]!.framing;
  switch (vector.type) {
    case "hmac-signature": {
      const expected = stringField(vector, "signature");
      const fromClient =
        protocol === undefined ? await signBody(secret, new Uint8Array(body)) : await signedByClient(secret, body, protocols[protocol]!.contentType);
      if (fromClient !== expected) return `${protocol === undefined ? "signBody" : "the signing HTTP client"} (@pnm/client) gave ${fromClient}, expected ${expected}`;
      const fromHarness = signatureHex(secret, signedBytes(body, framing));
      return fromHarness === expected ? undefined : `the harness signer gave ${fromHarness}, expected ${expected}`;
    }
    case "hmac-verify": {
      const expected = stringField(vector, "expect");
      const outcome = verifySignatureHeader(secret, body, stringField(vector, "header"), framing);
      return outcome === expected ? undefined : `verification gave ${outcome}, expected ${expected}`;
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind hmac`);
  }
}

/** The HASH-SIGNATURE the client SDK's signing HTTP client puts on a request with this body and content type. */
async function signedByClient(secret: string, body: Uint8Array, contentType: string): Promise<string> {
  let signature = "";
  const capture: UniversalClientFn = async (request) => {
    signature = request.header.get("HASH-SIGNATURE") ?? "";
    return { status: 200, header: new Headers(), body: (async function* () {})(), trailer: new Headers() };
  };
  await createSigningHttpClient(capture, { apiKey: "k", apiSecret: secret })({
    url: "http://localhost/pnm.v1.RoomService/IsRoomActive",
    method: "POST",
    header: new Headers({ "content-type": contentType }),
    body: (async function* () {
      yield body;
    })(),
    signal: new AbortController().signal,
  });
  return signature;
}
