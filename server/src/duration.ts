const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Go-style durations ("10m", "1h30m", "90s") into milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed !== text.trim()) {
    throw new Error(`invalid duration "${text}" (examples: 10m, 90s, 1h30m)`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * units[unit!]!, 0);
}
