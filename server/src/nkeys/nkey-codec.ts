// The nkeys text encoding (prefix byte(s), payload, CRC-16/XMODEM, unpadded
// base32), reimplemented so that hot paths can turn keys into raw bytes without
// @nats-io/nkeys, whose key pairs re-derive Ed25519 keys in pure JS on every call.

/** First letter of a public nkey: operator, server, cluster, account, user, curve. */
export type NkeyKind = "O" | "N" | "C" | "A" | "U" | "X";

export class NkeyCodecError extends Error {
  override readonly name = "NkeyCodecError";
}

export interface DecodedNkey {
  kind: NkeyKind;
  raw: Uint8Array;
}

const prefixByKind: Record<NkeyKind, number> = { O: 112, N: 104, C: 16, A: 0, U: 160, X: 184 };
const kindByPrefix = new Map<number, NkeyKind>(
  Object.entries(prefixByKind).map(([kind, prefix]) => [prefix, kind as NkeyKind]),
);
const seedPrefix = 144;
const privatePrefix = 120;
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const alphabetIndex = new Map([...alphabet].map((char, index) => [char, index]));

const crcTable = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ crcTable[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let value = 0;
  let bits = 0;
  let length = 0;
  for (const char of text) {
    const index = alphabetIndex.get(char);
    if (index === undefined) throw new NkeyCodecError("nkey contains a character outside base32");
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[length++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out.subarray(0, length);
}

function withChecksum(payload: Uint8Array): string {
  const framed = new Uint8Array(payload.length + 2);
  framed.set(payload);
  const crc = crc16(payload);
  framed[payload.length] = crc & 0xff;
  framed[payload.length + 1] = crc >>> 8;
  return base32Encode(framed);
}

function withoutChecksum(text: string): Uint8Array {
  const framed = base32Decode(text);
  if (framed.length < 3) throw new NkeyCodecError("nkey is too short");
  const payload = framed.subarray(0, framed.length - 2);
  const crc = framed[framed.length - 2] | (framed[framed.length - 1] << 8);
  if (crc16(payload) !== crc) throw new NkeyCodecError("nkey checksum mismatch");
  return payload;
}

function asText(key: string | Uint8Array): string {
  return typeof key === "string" ? key : new TextDecoder().decode(key);
}

/** Decodes a public key (`A…`, `U…`, `N…`, …) into its kind and 32 raw bytes. */
export function decodeNkeyPublic(key: string): DecodedNkey {
  const payload = withoutChecksum(key);
  const kind = kindByPrefix.get(payload[0]);
  if (kind === undefined || payload.length !== 33) throw new NkeyCodecError("not a public nkey");
  return { kind, raw: payload.slice(1) };
}

/** Decodes a seed (`SA…`, `SU…`, `SX…`, …) into the kind of its key and the 32 raw seed bytes. */
export function decodeNkeySeed(seed: string | Uint8Array): DecodedNkey {
  const payload = withoutChecksum(asText(seed));
  if ((payload[0] & 0xf8) !== seedPrefix || payload.length !== 34) throw new NkeyCodecError("not an nkey seed");
  const kind = kindByPrefix.get(((payload[0] & 0x07) << 5) | ((payload[1] & 0xf8) >> 3));
  if (kind === undefined) throw new NkeyCodecError("nkey seed names an unknown key kind");
  return { kind, raw: payload.slice(2) };
}

export function encodeNkeyPublic(kind: NkeyKind, raw: Uint8Array): string {
  if (raw.length !== 32) throw new NkeyCodecError("a public nkey holds 32 bytes");
  const payload = new Uint8Array(33);
  payload[0] = prefixByKind[kind];
  payload.set(raw, 1);
  return withChecksum(payload);
}

/** The `P…` form nkeys returns from getPrivateKey(): seed and public key, 64 bytes. */
export function encodeNkeyPrivate(seedAndPublic: Uint8Array): string {
  if (seedAndPublic.length !== 64) throw new NkeyCodecError("a private nkey holds 64 bytes");
  const payload = new Uint8Array(65);
  payload[0] = privatePrefix;
  payload.set(seedAndPublic, 1);
  return withChecksum(payload);
}
