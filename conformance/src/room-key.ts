/**
 * Properties of server-generated E2EE room keys (docs/upstream-wire-contract.md
 * §10.4): 32 characters from [0-9A-Za-z], each drawn uniformly from a CSPRNG.
 * One key can only be checked for its format; a set of keys from the same
 * generator also shows repeats, a narrow alphabet (upstream's hex fallback)
 * and bias (for example a modulo-reduced byte).
 */
export const roomKeyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const roomKeyLength = 32;

/** How a room key, or a set of keys, fails the properties. */
export type RoomKeyFailure = "wrong-length" | "bad-character" | "duplicate" | "narrow-alphabet" | "biased";

// 8 keys are 256 characters; a uniform generator leaves about one of the 62
// symbols unused, so fewer than 48 is beyond chance.
const narrowAlphabetMinKeys = 8;
const narrowAlphabetMinSymbols = 48;
// With 100000 characters each symbol is expected about 1613 times (sd 40),
// so 15% is six standard deviations, while a byte reduced modulo 62 makes
// eight symbols 25% more frequent.
const biasMinCharacters = 100_000;
const biasTolerance = 0.15;

const allowed = new Set(roomKeyAlphabet);

/** Checks one key's format: length 32, characters from `roomKeyAlphabet`. */
export function checkRoomKey(key: string): "valid" | "wrong-length" | "bad-character" {
  const characters = [...key];
  if (characters.length !== roomKeyLength) return "wrong-length";
  return characters.every((c) => allowed.has(c)) ? "valid" : "bad-character";
}

/** What `checkRoomKeySet` found. */
export interface RoomKeySetVerdict {
  /** `valid`, or the first property the set fails. */
  outcome: "valid" | RoomKeyFailure;
  /** Which key or symbol, and the numbers, when the set fails. */
  detail?: string;
}

/**
 * Checks a set of keys from one generator: each key's format, then repeats,
 * then (from 8 keys) a narrow alphabet and (from 100 000 characters) bias.
 */
export function checkRoomKeySet(keys: readonly string[]): RoomKeySetVerdict {
  for (const [index, key] of keys.entries()) {
    const outcome = checkRoomKey(key);
    if (outcome !== "valid") return { outcome, detail: `key ${index + 1}` };
  }
  const seen = new Set<string>();
  for (const [index, key] of keys.entries()) {
    if (seen.has(key)) return { outcome: "duplicate", detail: `key ${index + 1} repeats an earlier key` };
    seen.add(key);
  }
  const counts = new Map<string, number>();
  for (const key of keys) for (const c of key) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (keys.length >= narrowAlphabetMinKeys && counts.size < narrowAlphabetMinSymbols) {
    return { outcome: "narrow-alphabet", detail: `${counts.size} distinct symbols in ${keys.length} keys` };
  }
  const total = keys.length * roomKeyLength;
  if (total >= biasMinCharacters) {
    const mean = total / roomKeyAlphabet.length;
    for (const symbol of roomKeyAlphabet) {
      const count = counts.get(symbol) ?? 0;
      if (Math.abs(count - mean) > mean * biasTolerance) {
        return { outcome: "biased", detail: `'${symbol}' occurs ${count} times, expected about ${Math.round(mean)}` };
      }
    }
  }
  return { outcome: "valid" };
}
