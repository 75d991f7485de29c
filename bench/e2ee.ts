/**
 * Room messages sealed and opened per second: @pnm/client/e2ee's
 * encryptMessage + decryptMessage (under Node they run node:crypto's cipher
 * on the WebCrypto key, a browser WebCrypto's) against node:crypto's
 * AES-256-GCM writing and reading the same `IV ‖ ciphertext ‖ tag` form, in
 * one run, for 64 B, 1 KiB and 64 KiB messages. Each message is encrypted and
 * its wire form decrypted again. The key is derived once per session, as a
 * session does, before anything is timed; every message then uses it.
 * The two sides alternate in rounds, which side goes first alternating too.
 * "one at a time" awaits each call before the next, as a sender does; "N in
 * flight" keeps N messages going at once, as a subscriber's callbacks decrypt
 * (node:crypto is synchronous, so its figure is the same in both). The CPU
 * figures are the whole process's, WebCrypto's worker threads included.
 * Figures are medians over the rounds; each ratio is the median of the
 * rounds' ratios, each round's client figure against the same round's
 * node:crypto figure.
 * Usage: npm run bench:e2ee [-- --seconds 0.5 --rounds 10 --in-flight 16]
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  decryptMessage,
  deriveKeyBytes,
  deriveMessageKey,
  encryptMessage,
  IV_BYTES,
  TAG_BYTES,
} from "@pnm/client/e2ee";
import { KeyDerivation } from "@pnm/protocol/pnm/v1/create_room_pb";
import { ownCpuMs } from "./process-cpu.js";
import { machineLine, ratioLine } from "./report.js";
import { formatTable } from "./stats.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "0.5" },
    rounds: { type: "string", default: "10" },
    "in-flight": { type: "string", default: "16" },
  },
});
const machine = machineLine(); // before this bench adds its own load
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const inFlight = Number(values["in-flight"]);
if (!(seconds > 0 && rounds >= 1 && inFlight >= 1))
  throw new Error("need --seconds > 0, --rounds >= 1 and --in-flight >= 1");

const passphrase = "bench passphrase";
const roomSid = "0c9f3e52-8a71-4d2b-9b6e-2f4a5c7d8e10";
// Derived once each, outside the timed loops: a session derives its key when it joins, not per message.
const webKey = await deriveMessageKey(passphrase, roomSid, KeyDerivation.PBKDF2_ROOM_SID);
const nodeKey: KeyObject = createSecretKey(await deriveKeyBytes(passphrase, roomSid, KeyDerivation.PBKDF2_ROOM_SID));

function nodeEncrypt(plaintext: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", nodeKey, iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function nodeDecrypt(wire: Uint8Array): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", nodeKey, wire.subarray(0, IV_BYTES));
  decipher.setAuthTag(wire.subarray(wire.length - TAG_BYTES));
  return Buffer.concat([decipher.update(wire.subarray(IV_BYTES, wire.length - TAG_BYTES)), decipher.final()]);
}

const sizes = [
  { name: "64 B", bytes: 64 },
  { name: "1 KiB", bytes: 1024 },
  { name: "64 KiB", bytes: 65_536 },
];

// Before anything is timed: each side opens the other's messages, so both write the same format under the same key.
for (const { name, bytes } of sizes) {
  const plaintext = randomBytes(bytes);
  const fromNode = await decryptMessage(webKey, nodeEncrypt(plaintext));
  const fromClient = nodeDecrypt(await encryptMessage(webKey, plaintext));
  if (!plaintext.equals(fromNode) || !plaintext.equals(fromClient))
    throw new Error(`${name}: client and node:crypto do not read each other's messages`);
}

interface Rate {
  perSecond: number;
  /** CPU of the whole process (WebCrypto's worker threads too) per message, µs. */
  cpuUs: number;
}

const measured = (done: number, start: number, cpuBefore: number): Rate => ({
  perSecond: (done * 1000) / (performance.now() - start),
  cpuUs: ((ownCpuMs() - cpuBefore) * 1000) / done,
});

/** Messages per second: `step` (one encrypt + decrypt) repeated for `seconds`, `lanes` at once. */
async function rate(step: () => unknown, lanes: number): Promise<Rate> {
  let done = 0;
  const cpuBefore = ownCpuMs();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline) {
      await step();
      done++;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return measured(done, start, cpuBefore);
}

/** node:crypto runs synchronously; looping without awaits measures it without the event loop's cost per turn. */
function syncRate(step: () => void): Rate {
  let done = 0;
  const cpuBefore = ownCpuMs();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    step();
    done++;
  }
  return measured(done, start, cpuBefore);
}

// Medians over the rounds: a burst of other work on a shared machine moves one round, not the figure.
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const rows = [
  [
    "size",
    "msg/s: node:crypto",
    "client, one at a time",
    `client, ${inFlight} in flight`,
    "cpu µs/msg: node:crypto",
    "client, one at a time",
    `client, ${inFlight} in flight`,
  ],
];
const lines: string[] = [];
for (const { name, bytes } of sizes) {
  const plaintext = new Uint8Array(randomBytes(bytes));
  const nodeStep = () => void nodeDecrypt(nodeEncrypt(plaintext));
  const clientStep = async () => decryptMessage(webKey, await encryptMessage(webKey, plaintext));
  // Warm-up: JIT and WebCrypto's thread pool.
  syncRate(nodeStep);
  await rate(clientStep, 1);
  await rate(clientStep, inFlight);
  const node: Rate[] = [];
  const sequential: Rate[] = [];
  const concurrent: Rate[] = [];
  for (let round = 0; round < rounds; round++) {
    const runs = [
      async () => void node.push(syncRate(nodeStep)),
      async () => void sequential.push(await rate(clientStep, 1)),
      async () => void concurrent.push(await rate(clientStep, inFlight)),
    ];
    for (const run of round % 2 === 0 ? runs : runs.reverse()) await run();
  }
  const perSecond = [node, sequential, concurrent].map((rs) => median(rs.map((r) => r.perSecond)));
  const cpuUs = [node, sequential, concurrent].map((rs) => median(rs.map((r) => r.cpuUs)));
  rows.push([name, ...perSecond.map((x) => x.toFixed(0)), ...cpuUs.map((x) => x.toFixed(1))]);
  // Each round's client figure against the same round's node:crypto figure, then the median of those.
  const ratio = (client: Rate[], f: (r: Rate, base: Rate) => number) => median(client.map((r, i) => f(r, node[i])));
  // The target is for 1 KiB, the size of a typical chat or whiteboard message.
  const target = bytes === 1024 ? { atLeast: 0.5 } : undefined;
  lines.push(
    ratioLine(
      `e2ee ${name} encrypt+decrypt vs node:crypto`,
      ratio(sequential, (r, base) => r.perSecond / base.perSecond),
      target,
    ),
  );
  lines.push(
    ratioLine(
      `e2ee ${name} encrypt+decrypt, ${inFlight} in flight, vs node:crypto`,
      ratio(concurrent, (r, base) => r.perSecond / base.perSecond),
    ),
  );
  // CPU per message, inverted so that higher is better here too; a shared machine disturbs it less than the rate.
  lines.push(
    ratioLine(
      `e2ee ${name} encrypt+decrypt vs node:crypto, by CPU per message`,
      ratio(sequential, (r, base) => base.cpuUs / r.cpuUs),
    ),
  );
}

console.log(machine);
console.log(
  `AES-256-GCM messages (encrypt + decrypt), medians of ${rounds} rounds x ${seconds} s per side and size, key derived once`,
);
console.log(formatTable(rows));
console.log(lines.join("\n"));
