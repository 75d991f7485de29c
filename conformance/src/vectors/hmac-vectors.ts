import { signBody } from "@pnm/client";
import { signatureHex, verifySignatureHeader } from "../signature.js";
import { bytesField, MalformedVectorError, stringField, type Vector } from "./vector-file.js";

/**
 * `hmac-signature`: the client SDK's signBody and the harness's signer both
 * give `signature`. `hmac-verify`: the contract's check of a HASH-SIGNATURE
 * header value gives `expect`.
 */
export async function checkHmacVector(vector: Vector): Promise<string | undefined> {
  const secret = stringField(vector, "secret");
  const body = bytesField(vector, "body");
  switch (vector.type) {
    case "hmac-signature": {
      const expected = stringField(vector, "signature");
      const fromClient = await signBody(secret, new Uint8Array(body));
      if (fromClient !== expected) return `signBody (@pnm/client) gave ${fromClient}, expected ${expected}`;
      const fromHarness = signatureHex(secret, body);
      return fromHarness === expected ? undefined : `the harness signer gave ${fromHarness}, expected ${expected}`;
    }
    case "hmac-verify": {
      const expected = stringField(vector, "expect");
      const outcome = verifySignatureHeader(secret, body, stringField(vector, "header"));
      return outcome === expected ? undefined : `verification gave ${outcome}, expected ${expected}`;
    }
    default:
      throw new MalformedVectorError(`unknown type ${vector.type} for kind hmac`);
  }
}
