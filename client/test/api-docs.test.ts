import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { countUndocumented } from "../../scripts/count-undocumented.js";

const clientDir = fileURLToPath(new URL("..", import.meta.url));
const srcDir = fileURLToPath(new URL("../src", import.meta.url));

describe("@pnm/client API docs", () => {
  it("has a TSDoc comment on every exported declaration and public member in src/", () => {
    const { total, undocumented } = countUndocumented(srcDir);
    expect(total).toBeGreaterThan(0);
    expect(undocumented.map((u) => `src/${u.file}:${u.line} ${u.name}`)).toEqual([]);
  });

  it("covers every entry of the package (all of them are under src/)", () => {
    const manifest = JSON.parse(readFileSync(`${clientDir}/package.json`, "utf8")) as {
      exports: Record<string, string | Record<string, string>>;
    };
    const entries = Object.values(manifest.exports).flatMap((target) =>
      typeof target === "string" ? [] : [target["pnm-source"]],
    );
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry).toMatch(/^\.\/src\/.+\.ts$/);
  });
});
