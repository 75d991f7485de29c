// Checks the layers of server/src (drawn in server/src/README.md): the parts
// of the server, each folder and each file at the top, may import parts of
// their own layer or of layers below, never of one above, and no parts may
// import each other in a cycle, even within a layer. Type-only imports count
// too: they tie the designs together all the same.
// Usage: node --import tsx scripts/check-server-layers.ts
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** server/src's parts from the top layer down; a part is a folder, or a file at the top without `.ts`. */
export const serverLayers: readonly (readonly string[])[] = [
  ["cli"],
  ["index", "testing"],
  ["server"],
  ["app"],
  ["config", "dev-credentials"],
  ["http", "plane"],
  ["services"],
  ["media", "rooms", "auth", "store"],
  ["nats", "nkeys"],
  ["config-error", "duration", "errors", "logger", "metrics", "validation", "version"],
];

/** One import of one part by another. */
export interface PartImport {
  /** The importing file, relative to the source root. */
  file: string;
  /** The specifier as written. */
  specifier: string;
  from: string;
  to: string;
}

/** Every breach of `layers` among `imports`, as lines to print; none when the parts are layered. */
export function layerProblems(imports: readonly PartImport[], layers: readonly (readonly string[])[]): string[] {
  const rank = new Map(layers.flatMap((parts, i) => parts.map((part) => [part, i] as const)));
  const problems: string[] = [];
  const unknown = new Set<string>();
  for (const edge of imports) {
    for (const part of [edge.from, edge.to]) {
      if (!rank.has(part) && !unknown.has(part)) {
        unknown.add(part);
        problems.push(
          `${part} is in no layer: add it to the layers in scripts/check-server-layers.ts and server/src/README.md`,
        );
      }
    }
    const [from, to] = [rank.get(edge.from), rank.get(edge.to)];
    if (from !== undefined && to !== undefined && to < from) {
      problems.push(`${edge.file} imports ${edge.specifier}: ${edge.from} may not import ${edge.to}, a layer above it`);
    }
  }
  for (const cycle of partCycles(imports)) {
    const edges = cycle.map(
      (from, i) => imports.find((edge) => edge.from === from && edge.to === cycle[(i + 1) % cycle.length])!,
    );
    problems.push(
      `${[...cycle, cycle[0]].join(" → ")} is a cycle: ${edges.map((edge) => `${edge.file} imports ${edge.specifier}`).join("; ")}`,
    );
  }
  return problems;
}

/**
 * One cycle, the shortest through its first part, in each group of parts
 * that import each other (Tarjan's strongly connected components).
 */
function partCycles(imports: readonly PartImport[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    if (!next.has(from)) next.set(from, new Set());
    if (!next.has(to)) next.set(to, new Set());
    next.get(from)!.add(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (part: string) => {
    index.set(part, index.size);
    low.set(part, index.get(part)!);
    stack.push(part);
    for (const other of next.get(part)!) {
      if (!index.has(other)) {
        visit(other);
        low.set(part, Math.min(low.get(part)!, low.get(other)!));
      } else if (stack.includes(other)) {
        low.set(part, Math.min(low.get(part)!, index.get(other)!));
      }
    }
    if (low.get(part) !== index.get(part)) return;
    const component = stack.splice(stack.indexOf(part));
    if (component.length > 1) cycles.push(shortestCycle(component.sort(), next));
  };
  for (const part of [...next.keys()].sort()) if (!index.has(part)) visit(part);
  return cycles;
}

/** The shortest path from the component's first part back to it (breadth first), as the parts along it. */
function shortestCycle(component: string[], next: Map<string, Set<string>>): string[] {
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const part = queue[i]!;
    for (const other of next.get(part)!) {
      if (!component.includes(other)) continue;
      if (other === start) {
        const path = [part];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (!cameFrom.has(other)) {
        cameFrom.set(other, part);
        queue.push(other);
      }
    }
  }
  return component; // unreachable: every part of a component reaches the others
}

/** The imports between different parts of the sources under `root`. */
export function partImports(root: string): PartImport[] {
  const partOf = (path: string) => {
    const [first, ...rest] = relative(root, path).split(sep);
    return rest.length > 0 ? first! : first!.replace(/\.ts$/, "");
  };
  const found: PartImport[] = [];
  for (const path of tsFilesUnder(root)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith(".")) continue;
      const target = resolve(dirname(path), specifier.replace(/\.js$/, ".ts"));
      const [from, to] = [partOf(path), partOf(target)];
      if (from !== to) found.push({ file: relative(root, path), specifier, from, to });
    }
  }
  return found;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFilesUnder(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL("../server/src", import.meta.url));
  const problems = layerProblems(partImports(root), serverLayers);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log(`server/src: ${serverLayers.length} layers, no import goes up or round`);
}
