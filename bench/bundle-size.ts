/**
 * What `@pnm/client` costs a web page: the built package (client/dist, as
 * installed from npm, not its sources) bundled with esbuild for the browser,
 * minified, then gzipped (level 9; 1 KB = 1000 bytes), once for an entry that
 * imports only `joinSession` and once for one that imports only
 * `createRoomServiceClient`. For each it prints the size against its target,
 * what the packages in the bundle cost (the gzipped bytes the bundle would
 * lose without a package and what only it pulls in), whether they are
 * CommonJS (which no bundler can tree-shake) and the largest inputs.
 * Usage: npm run bench:bundle (after the build that bootstrap runs)
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { ratioLine } from "./report.js";

const clientDir = fileURLToPath(new URL("../client", import.meta.url));
if (!existsSync(`${clientDir}/dist/index.js`)) throw new Error("client/dist is missing: run npm run build");

interface Entry {
  name: string;
  contents: string;
  /** Gzipped bytes; undefined when no budget is set. */
  targetBytes?: number;
}

const entries: Entry[] = [
  {
    name: "participant session (joinSession)",
    contents: `export { joinSession } from "@pnm/client";`,
    targetBytes: 60_000,
  },
  {
    name: "server-to-server client (createRoomServiceClient)",
    contents: `export { createRoomServiceClient } from "@pnm/client";`,
  },
];

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

async function bundle(
  contents: string,
  external: string[] = [],
): Promise<{ gzipped: number; minified: number; metafile: Metafile }> {
  const result = await build({
    stdin: { contents, resolveDir: clientDir, sourcefile: "entry.js", loader: "js" },
    bundle: true,
    write: false,
    minify: true,
    format: "esm",
    platform: "browser",
    metafile: true,
    external,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]!.contents;
  return { gzipped: gzipSync(code, { level: 9 }).length, minified: code.length, metafile: result.metafile };
}

const entryInput = "client/entry.js";

/** The package an input belongs to: its node_modules package, or the workspace package whose dist/ it is. */
function packageOf(input: string): string {
  const inModules = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (inModules) return inModules[1]!;
  const workspace = /^(protocol|client)\/dist\//.exec(input);
  if (workspace) return `@pnm/${workspace[1]}`;
  // The entry itself, and "(disabled):crypto" for a module a browser field replaces with an empty one.
  return input;
}

interface PackageCost {
  name: string;
  /** Packages only this one pulls in, counted with it. */
  pulledIn: string[];
  minified: number;
  /** What the gzipped bundle loses without it; undefined for the entry's own package. */
  gzipped?: number;
  commonJs: boolean;
}

/**
 * Groups the inputs by package, folding a package that only one other
 * package imports into that one (tweetnacl into @nats-io/nkeys into
 * @nats-io/nats-core), and measures each group by leaving it out.
 */
async function packageCosts(entry: Entry, metafile: Metafile, gzipped: number): Promise<PackageCost[]> {
  const inputs = metafile.inputs;
  const output = Object.values(metafile.outputs)[0]!;
  const importers = new Map<string, Set<string>>();
  for (const [path, input] of Object.entries(inputs)) {
    for (const imported of input.imports) {
      if (!inputs[imported.path]) continue;
      const from = packageOf(path);
      const to = packageOf(imported.path);
      if (from !== to) importers.set(to, (importers.get(to) ?? new Set()).add(from));
    }
  }
  const ownerOf = (pkg: string): string => {
    const seen = new Set<string>();
    let current = pkg;
    for (;;) {
      const by = importers.get(current);
      if (by?.size !== 1 || seen.has(current)) return current;
      seen.add(current);
      const [only] = by;
      if (only!.startsWith("@pnm/") || only === entryInput) return current;
      current = only!;
    }
  };
  const groups = new Map<string, PackageCost>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(path);
    if (pkg === entryInput) continue;
    const owner = ownerOf(pkg);
    const group = groups.get(owner) ?? { name: owner, pulledIn: [], minified: 0, commonJs: false };
    if (pkg !== owner && !group.pulledIn.includes(pkg)) group.pulledIn.push(pkg);
    group.minified += bytesInOutput;
    group.commonJs ||= inputs[path]?.format === "cjs";
    groups.set(owner, group);
  }
  for (const group of groups.values()) {
    if (group.name === "@pnm/client" || group.name.startsWith("(")) continue;
    const without = await bundle(entry.contents, [group.name, `${group.name}/*`]);
    group.gzipped = gzipped - without.gzipped;
  }
  return [...groups.values()].sort((a, b) => b.minified - a.minified);
}

for (const entry of entries) {
  const { gzipped, minified, metafile } = await bundle(entry.contents);
  const inputs = Object.values(metafile.outputs)[0]!.inputs;
  if (!(entryInput in inputs) || !Object.keys(inputs).some((path) => path.startsWith("client/dist/")))
    throw new Error("the bundle does not come from client/dist");
  // The result line in every bench's form (bench/report.ts), in KB gzipped.
  const target = entry.targetBytes === undefined ? undefined : { atMost: entry.targetBytes / 1000 };
  console.log(ratioLine(`${entry.name}, KB gzipped`, gzipped / 1000, target, 1));
  console.log(`  ${kb(minified)} minified`);

  console.log("  by package: minified bytes; gzipped bytes the bundle loses without it");
  for (const cost of await packageCosts(entry, metafile, gzipped)) {
    const withOthers = cost.pulledIn.length ? ` (with ${cost.pulledIn.join(", ")})` : "";
    const saving = cost.gzipped === undefined ? "" : `; −${kb(cost.gzipped)} gzipped`;
    console.log(
      `    ${cost.name}${withOthers}: ${kb(cost.minified)}${saving}${cost.commonJs ? "; CommonJS, kept whole" : ""}`,
    );
  }
  console.log("  largest inputs (minified bytes):");
  for (const [path, { bytesInOutput }] of Object.entries(inputs)
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
    .slice(0, 10)) {
    console.log(`    ${kb(bytesInOutput).padStart(8)}  ${path.replace(/^.*node_modules\//, "")}`);
  }
}
