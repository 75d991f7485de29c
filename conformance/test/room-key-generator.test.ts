import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateE2eeKey } from "@pnm/server/testing";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { checkRoomKeySet, roomKeyAlphabet } from "../src/room-key.js";

// Enough characters (3200 × 32 > 100000) for the bias check to apply.
const sampleSize = 3200;
const sample = (generate: () => string) => Array.from({ length: sampleSize }, generate);

// What the room-key vectors cannot show on their own: the generator itself. pnm's passes; plausible broken ones do not.
describe("room key generation", () => {
  it("pnm's generator has every property", () => {
    expect(checkRoomKeySet(sample(generateE2eeKey))).toEqual({ outcome: "valid" });
  });

  it("a byte reduced modulo 62 is caught as biased", () => {
    const modulo = () => Array.from(randomBytes(32), (b) => roomKeyAlphabet[b % 62]).join("");
    expect(checkRoomKeySet(sample(modulo)).outcome).toBe("biased");
  });

  it("upstream's hex fallback is caught as a narrow alphabet", () => {
    expect(checkRoomKeySet(sample(() => randomBytes(16).toString("hex"))).outcome).toBe("narrow-alphabet");
  });

  it("pnm-conformance keys checks a file of keys from any generator", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pnm-keys-")), "keys.txt");
    writeFileSync(file, `${sample(generateE2eeKey).join("\n")}\n`);
    const lines: string[] = [];
    expect(await main(["keys", file], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`${sampleSize} keys: valid`]);
    writeFileSync(file, "tooshort\n");
    expect(await main(["keys", file], (l) => lines.push(l))).toBe(1);
    expect(lines.at(-1)).toBe("1 keys: wrong-length (key 1)");
  });
});
