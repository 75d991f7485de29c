const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds in a Go-style duration ("10m", "1h30m", "90s", "1500ms"), or
 * undefined when the text is not one: the caller knows which setting it was
 * and says so.
 */
export function parseDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed !== text.trim()) return undefined;
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * units[unit!]!, 0);
}
