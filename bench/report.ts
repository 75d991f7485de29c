import { availableParallelism, cpus, loadavg } from "node:os";

/** What a figure is held against: at least this (higher is better) or at most this (lower is better). */
export type Target = { atLeast: number } | { atMost: number };

/**
 * One result line in the form every bench prints, so that runs compare line
 * by line between commits: `name: X (target ≥ Y)`, `name: X (target ≤ Y)`
 * for a lower-is-better figure, or `name: X` for one without a target. The
 * target is printed with the figure's digits.
 */
export function ratioLine(name: string, value: number, target?: Target, digits = 2): string {
  const figure = value.toFixed(digits);
  if (!target) return `${name}: ${figure}`;
  return "atLeast" in target
    ? `${name}: ${figure} (target ≥ ${target.atLeast.toFixed(digits)})`
    : `${name}: ${figure} (target ≤ ${target.atMost.toFixed(digits)})`;
}

/** Where the figures were measured: cores, CPU model, Node, and how busy the machine was when the bench started. */
export function machineLine(): string {
  const [one, five] = loadavg();
  return `machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, load average ${one.toFixed(1)} (1 min) ${five.toFixed(1)} (5 min) at start`;
}
