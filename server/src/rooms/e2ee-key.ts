import { randomInt } from "node:crypto";

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * A room key in upstream's format: 32 characters from [0-9A-Za-z] (about 190
 * bits), which clients use as a passphrase. Each character comes from the
 * CSPRNG without modulo bias; if the CSPRNG fails this throws, and room
 * creation fails with it: there is no weaker fallback.
 */
export function generateE2eeKey(): string {
  let key = "";
  for (let i = 0; i < 32; i++) key += alphabet[randomInt(alphabet.length)];
  return key;
}
