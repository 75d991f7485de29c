import { readFileSync } from "node:fs";
import type { E2eeVectorFile } from "./vector-runner.js";

export const vectorFilePath = new URL("../../../conformance/vectors/e2ee.json", import.meta.url);

export function loadVectorFile(): E2eeVectorFile {
  return JSON.parse(readFileSync(vectorFilePath, "utf8")) as E2eeVectorFile;
}
