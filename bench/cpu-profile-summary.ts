/**
 * The top self-time frames of a V8 CPU profile (`node --cpu-prof`), as a
 * table: share of sampled time, ms, function and where it is defined. Frames
 * are merged by function and location; `--by-file` merges by file instead.
 * Usage: node --import tsx bench/cpu-profile-summary.ts PROFILE.cpuprofile [--top 25] [--by-file]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatTable } from "./stats.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: "string", default: "25" },
    "by-file": { type: "boolean", default: false },
    "by-package": { type: "boolean", default: false },
  },
});
if (positionals.length !== 1)
  throw new Error("usage: cpu-profile-summary.ts PROFILE.cpuprofile [--top 25] [--by-file | --by-package]");
const profile = JSON.parse(readFileSync(positionals[0], "utf8")) as Profile;

/** The npm package, Node module area or pnm package a file belongs to. */
function packageOf(where: string): string {
  const scoped = /^(@[^/]+\/[^/]+|[^@/][^/]*)\//.exec(where);
  if (where.startsWith("node:")) {
    const [area, next] = where.replace(/^node:(internal\/)?(deps\/)?/, "").split("/");
    return `node:${area === "per_context" && next ? next : area}`;
  }
  return /^(server|client|protocol|bench)\//.test(where) ? `pnm ${where.split("/")[0]}` : (scoped?.[1] ?? where);
}

const frameOf = new Map<number, string>();
for (const { id, callFrame } of profile.nodes) {
  const where = callFrame.url
    .replace(/^file:\/\/.*?\/node_modules\//, "")
    .replace(/^file:\/\/.*?\/(server|client|protocol|bench)\//, "$1/");
  const name = callFrame.functionName || "(anonymous)";
  if (!where) frameOf.set(id, name);
  else if (values["by-package"]) frameOf.set(id, packageOf(where));
  else if (values["by-file"]) frameOf.set(id, where);
  else frameOf.set(id, `${name} ${where}:${callFrame.lineNumber + 1}`);
}
const selfUs = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  totalUs += us;
  const frame = frameOf.get(id)!;
  selfUs.set(frame, (selfUs.get(frame) ?? 0) + us);
});
const top = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
console.log(`${(totalUs / 1000).toFixed(0)} ms sampled`);
console.log(
  formatTable([
    ["self %", "self ms", values["by-package"] ? "package" : values["by-file"] ? "file" : "frame"],
    ...top.map(([frame, us]) => [((100 * us) / totalUs).toFixed(1), (us / 1000).toFixed(0), frame]),
  ]),
);
