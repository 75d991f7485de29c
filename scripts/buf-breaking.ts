// `buf breaking` against a git ref (default HEAD~1), with one allowance: a file
// option that names where another language's generated code lives (go_package,
// java_package, ...) may be declared for the first time. buf reports that as a
// change from the default, but no code generated for that language could have
// relied on the default, since the option is what makes generation work there.
// Changing or removing a declared option still fails, as does every other finding.
import { execFileSync, spawnSync } from "node:child_process";

const ref = process.argv[2] ?? "HEAD~1";
const languageOptions: Record<string, string> = {
  FILE_SAME_GO_PACKAGE: "go_package",
  FILE_SAME_JAVA_PACKAGE: "java_package",
  FILE_SAME_JAVA_MULTIPLE_FILES: "java_multiple_files",
  FILE_SAME_JAVA_OUTER_CLASSNAME: "java_outer_classname",
  FILE_SAME_CSHARP_NAMESPACE: "csharp_namespace",
  FILE_SAME_OBJC_CLASS_PREFIX: "objc_class_prefix",
  FILE_SAME_PHP_NAMESPACE: "php_namespace",
  FILE_SAME_RUBY_PACKAGE: "ruby_package",
  FILE_SAME_SWIFT_PREFIX: "swift_prefix",
};

interface Finding {
  path: string;
  start_line: number;
  type: string;
  message: string;
}

const run = spawnSync("npx", ["buf", "breaking", "--against", `.git#ref=${ref}`, "--error-format", "json"], {
  encoding: "utf8",
});
if (run.status === 0) process.exit(0);
let findings: Finding[];
try {
  findings = run.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Finding);
} catch {
  findings = [];
}
if (findings.length === 0) {
  process.stderr.write(run.stdout + run.stderr);
  process.exit(run.status ?? 1);
}

/** Whether the file at `ref` declares the option at all. */
function declaredBefore(path: string, option: string): boolean {
  let before: string;
  try {
    before = execFileSync("git", ["show", `${ref}:${path}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return false; // a new file: buf reports no option changes for it anyway
  }
  return new RegExp(`^\\s*option\\s+${option}\\s*=`, "m").test(before);
}

let failures = 0;
for (const f of findings) {
  const option = languageOptions[f.type];
  if (option && !declaredBefore(f.path, option)) {
    console.log(`allowed: ${f.path}:${f.start_line}: ${option} declared for the first time`);
  } else {
    failures++;
    console.log(`${f.path}:${f.start_line}: ${f.message} (${f.type})`);
  }
}
process.exit(failures === 0 ? 0 : 1);
