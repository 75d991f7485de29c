/** Operations per second of `op`, run back to back for `durationMs`: printed by tests, never asserted on. */
export function rate(durationMs: number, op: () => unknown): number {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < durationMs) {
    op();
    count++;
  }
  return Math.round((count * 1000) / (performance.now() - start));
}
