// Builds the demo app into a folder pnm-server serves in dev mode (PNM_DEMO_DIR): its two pages, their
// style sheet and icon, and one script per page bundled with esbuild from @pnm/client as built (client/dist,
// through the package's default export conditions), as an application that installs the package would.
// Usage: node --import tsx demo/build.ts [OUT_DIR]   (default demo/dist)
import { copyFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const demoDir = fileURLToPath(new URL(".", import.meta.url));
const staticFiles = ["index.html", "join.html", "style.css", "favicon.svg"];

/** Bundles the demo into `outDir` (created if missing); resolves once every file is written. */
export async function buildDemo(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { organizer: join(demoDir, "src/organizer.ts"), participant: join(demoDir, "src/participant.ts") },
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    // No "pnm-source": the pages run @pnm/client's dist/, as published.
    conditions: [],
    logLevel: "warning",
  });
  await Promise.all(staticFiles.map((file) => copyFile(join(demoDir, file), join(outDir, file))));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildDemo(resolve(process.argv[2] ?? join(demoDir, "dist")));
}
