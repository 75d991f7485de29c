import { describe, expect, it } from "vitest";
import { layerProblems, type PartImport } from "../../scripts/check-server-layers.js";

// The check itself runs over server/src in npm test (scripts/test.sh); here it
// must catch what it exists for, on planted import graphs.
const layers = [["top"], ["middle", "beside"], ["bottom"]];
const edge = (from: string, to: string): PartImport => ({ file: `${from}/a.ts`, specifier: `../${to}/b.js`, from, to });

describe("the server layer check", () => {
  it("accepts imports down the layers and within a layer", () => {
    expect(
      layerProblems(
        [edge("top", "middle"), edge("top", "bottom"), edge("middle", "beside"), edge("beside", "bottom")],
        layers,
      ),
    ).toEqual([]);
  });

  it("refuses an import that goes up a layer, naming the file", () => {
    expect(layerProblems([edge("bottom", "middle")], layers)).toEqual([
      "bottom/a.ts imports ../middle/b.js: bottom may not import middle, a layer above it",
    ]);
  });

  it("refuses a cycle within one layer, and names the imports that close it", () => {
    const problems = layerProblems([edge("middle", "beside"), edge("beside", "middle"), edge("top", "middle")], layers);
    expect(problems).toEqual([
      "beside → middle → beside is a cycle: beside/a.ts imports ../middle/b.js; middle/a.ts imports ../beside/b.js",
    ]);
  });

  it("reports the shortest cycle through a part, not every import between the parts involved", () => {
    const imports = [
      edge("middle", "beside"),
      edge("beside", "middle"),
      edge("middle", "bottom"),
      edge("bottom", "beside"),
    ];
    const cycles = layerProblems(imports, layers).filter((problem) => problem.includes("is a cycle"));
    expect(cycles).toEqual([
      "beside → middle → beside is a cycle: beside/a.ts imports ../middle/b.js; middle/a.ts imports ../beside/b.js",
    ]);
  });

  it("refuses a part that no layer lists", () => {
    expect(layerProblems([edge("top", "stray")], layers)).toEqual([
      "stray is in no layer: add it to the layers in scripts/check-server-layers.ts and server/src/README.md",
    ]);
  });
});
