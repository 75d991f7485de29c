import nacl from "tweetnacl";
import { decodeNkeyPublic, decodeNkeySeed } from "./nkey-codec.js";

// @nats-io/nkeys' sealed format: "xkv1", the 24-byte nonce, then the NaCl box.
const version = new Uint8Array([120, 107, 118, 49]);
const headerLength = version.length + nacl.box.nonceLength;
const sharedKeyLimit = 256;

export interface CurveBox {
  /** Opens a message sealed by `sender` (an X… public key); null when it does not open. */
  open(message: Uint8Array, sender: string): Uint8Array | null;
  seal(message: Uint8Array, recipient: string): Uint8Array;
}

/**
 * xkey open and seal, wire-compatible with @nats-io/nkeys, that compute the
 * X25519 shared key once per peer and reuse it: nkeys redoes that scalar
 * multiplication, most of the cost, for every message (about 0.6 ms each
 * way on the auth-callout path). Every seal still takes a fresh random
 * nonce. A nats-server's xkey lives as long as the server, so the cache
 * holds a handful of entries; it is bounded against junk senders.
 */
export function createCurveBox(xkeySeed: string): CurveBox {
  const seed = decodeNkeySeed(xkeySeed);
  if (seed.kind !== "X") throw new Error("the xkey seed is not a curve (X) seed");
  const secret = seed.raw;
  const sharedKeys = new Map<string, Uint8Array>();
  const sharedKey = (peer: string) => {
    const cached = sharedKeys.get(peer);
    if (cached) return cached;
    const decoded = decodeNkeyPublic(peer);
    if (decoded.kind !== "X") throw new Error("peer is not an xkey");
    const key = nacl.box.before(decoded.raw, secret);
    if (sharedKeys.size >= sharedKeyLimit) sharedKeys.clear();
    sharedKeys.set(peer, key);
    return key;
  };
  return {
    open(message, sender) {
      if (message.length <= headerLength || version.some((byte, i) => message[i] !== byte)) return null;
      return nacl.box.open.after(
        message.subarray(headerLength),
        message.subarray(version.length, headerLength),
        sharedKey(sender),
      );
    },
    seal(message, recipient) {
      const nonce = nacl.randomBytes(nacl.box.nonceLength);
      const boxed = nacl.box.after(message, nonce, sharedKey(recipient));
      const out = new Uint8Array(headerLength + boxed.length);
      out.set(version);
      out.set(nonce, version.length);
      out.set(boxed, headerLength);
      return out;
    },
  };
}
