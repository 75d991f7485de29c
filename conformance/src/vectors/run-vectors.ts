import { fileURLToPath } from "node:url";
import { describeError } from "../errors.js";
import type { KnownFailing } from "../known-failing.js";
import { type CaseResult, classify } from "../run/runner.js";
import { checkAccessTokenVector } from "./access-token-vectors.js";
import { checkE2eeVector } from "./e2ee-vectors.js";
import { checkHmacVector } from "./hmac-vectors.js";
import { checkRoomKeyVector } from "./room-key-vectors.js";
import { loadVectorFile, MalformedVectorError, type Vector } from "./vector-file.js";

type Checker = (vector: Vector) => Promise<string | undefined> | string | undefined;

const checkers: Record<string, Checker> = {
  hmac: checkHmacVector,
  "access-token": checkAccessTokenVector,
  "room-key": checkRoomKeyVector,
  e2ee: checkE2eeVector,
};

/** The vectors that ship with the harness. */
export const builtInVectorFiles = ["hmac.json", "access-token.json", "room-key.json", "e2ee.json"].map((f) =>
  fileURLToPath(new URL(`../../vectors/${f}`, import.meta.url)),
);

/** Which vector files to check, and how to report. */
export interface VectorRunOptions {
  /** The vector files, each a pnm-vectors/v1 JSON file. */
  files: string[];
  /** Vectors expected to fail, by result name (`vectors/<kind>/<name>`). */
  knownFailing?: KnownFailing;
  /** Called as each vector is checked. */
  onResult?: (result: CaseResult) => void;
}

/** Checks every vector of every file; results are named `vectors/<kind>/<name>`. */
export async function runVectorFiles(options: VectorRunOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const file of options.files.map(loadVectorFile)) {
    const check = checkers[file.kind];
    for (const vector of file.vectors) {
      const started = performance.now();
      let reason: string | undefined;
      if (!check) {
        reason = `no checker for kind "${file.kind}"; known: ${Object.keys(checkers).join(", ")}`;
      } else {
        try {
          reason = await check(vector);
        } catch (err) {
          reason =
            err instanceof MalformedVectorError ? `malformed vector: ${err.message}` : `error: ${describeError(err)}`;
        }
      }
      const result = classify(
        `vectors/${file.kind}/${vector.name}`,
        reason,
        Math.round(performance.now() - started),
        options.knownFailing,
      );
      results.push(result);
      options.onResult?.(result);
    }
  }
  return results;
}
