// Checks that every package's sources (its src/) import only packages its
// package.json declares (dependencies, peerDependencies), and that it declares
// nothing they do not import: an installed package then has exactly what it
// needs. Tests, examples, bench and scripts may import what the root
// devDependencies or any workspace package declare, and the workspace packages
// themselves, but nothing that is only there by hoisting. Node built-ins are
// not packages.
// Usage: node --import tsx scripts/check-package-imports.ts
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const readManifest = (dir: string) => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Manifest;
const rootManifest = readManifest(".");
const workspaces = (rootManifest.workspaces ?? []).map((dir) => ({ dir, manifest: readManifest(dir) }));
const builtins = new Set(builtinModules);
const sourceFile = /\.(ts|mts|js|mjs)$/;

/** The package a specifier names, or undefined for relative paths and Node built-ins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  return builtins.has(name) ? undefined : name;
}

/** Every file under `dir` (skipping node_modules, build output and hidden directories), with the packages it imports. */
function importsUnder(dir: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const walk = (path: string) => {
    for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist" && !entry.name.startsWith(".")) walk(child);
      } else if (sourceFile.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        // Static, type-only and dynamic imports alike: declarations need the types too.
        const { importedFiles } = ts.preProcessFile(readFileSync(join(root, child), "utf8"), true, true);
        const packages = new Set(
          importedFiles.map((f) => packageOf(f.fileName)).filter((p): p is string => p !== undefined),
        );
        if (packages.size > 0) found.set(child, packages);
      }
    }
  };
  if (existsSync(join(root, dir))) walk(dir);
  return found;
}

const declared = (m: Manifest) =>
  new Set([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {})]);
const problems: string[] = [];

for (const { dir, manifest } of workspaces) {
  const allowed = declared(manifest);
  const used = new Set<string>();
  for (const [file, packages] of importsUnder(join(dir, "src"))) {
    for (const name of packages) {
      if (name === manifest.name) continue;
      used.add(name);
      if (!allowed.has(name)) problems.push(`${file} imports ${name}, which ${dir}/package.json does not declare`);
    }
  }
  for (const name of allowed) {
    if (!used.has(name)) problems.push(`${dir}/package.json declares ${name}, which nothing in ${dir}/src imports`);
  }
}

const anywhere = new Set([
  ...Object.keys(rootManifest.devDependencies ?? {}),
  ...workspaces.flatMap(({ manifest }) => [manifest.name, ...declared(manifest)]),
]);
const supportDirs = [...workspaces.map(({ dir }) => join(dir, "test")), "examples", "bench", "scripts"];
for (const dir of supportDirs) {
  for (const [file, packages] of importsUnder(dir)) {
    for (const name of packages) {
      if (!anywhere.has(name))
        problems.push(
          `${file} imports ${name}, which neither the root devDependencies nor a workspace package declare`,
        );
    }
  }
}

for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exit(1);
console.log(`imports match package.json in ${workspaces.map((w) => w.dir).join(", ")}`);
