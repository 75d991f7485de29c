#!/usr/bin/env bash
# npm test: every check and test of the project, ending with one line "N passed, M failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bootstrap.sh
set +e # (bootstrap sets -e; the checks below count failures instead of stopping)
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (browser tests)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
fi
# Python and Go toolchains for the examples in other languages (examples/test).
bash scripts/ensure-languages.sh || echo "the Python and Go toolchains could not be installed; the examples' tests will fail" >&2

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
passed=0
failed=0
check() {
  local name="$1"; shift
  if "$@" > "$results/check.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$results/check.log" | tail -40
  fi
}

# Both outputs of buf.gen.yaml: the contract's code and the case schema's.
gen_is_fresh() {
  local before="$results/gen-before"
  mkdir -p "$before"
  cp -r protocol/src "$before/protocol"
  cp -r conformance/src/gen "$before/conformance"
  npx buf generate && diff -r "$before/protocol" protocol/src && diff -r "$before/conformance" conformance/src/gen
}
breaking_since_previous_commit() {
  if git rev-parse -q --verify HEAD~1 >/dev/null; then
    # buf breaking, except that a language's file option (go_package, ...) may be declared for the first time.
    node --import tsx scripts/buf-breaking.ts HEAD~1
  else
    echo "no previous commit to compare with"
  fi
}

check "buf lint" npx buf lint
check "protocol/src and conformance/src/gen match the .proto files (buf generate)" gen_is_fresh
check "buf breaking against the previous commit" breaking_since_previous_commit
check "TypeScript (tsc --noEmit)" npx tsc -p tsconfig.json
check "Biome (format and lint)" npx biome ci .
check "server layers: no import goes up or round (scripts/check-server-layers.ts)" node --import tsx scripts/check-server-layers.ts

# The packages: they build, each imports exactly what its package.json
# declares, and their tarballs resolve for Node and TypeScript.
types_resolve() {
  local dir="$1" entries=()
  # A wildcard export ("./*") names no module itself: check every module it maps.
  if node -e 'process.exit("./*" in (require(process.argv[1]).exports ?? {}) ? 0 : 1)' "$root/$dir/package.json"; then
    mapfile -t entries < <(cd "$dir/src" && find . -name '*.ts' | sed 's/\.ts$//' | sort)
  fi
  npx attw --pack "$dir" --profile esm-only --no-definitely-typed --format ascii ${entries[@]+--include-entrypoints "${entries[@]}"}
}
check "packages build (tsc -b)" npx tsc -b tsconfig.build.json
check "package imports match package.json" node --import tsx scripts/check-package-imports.ts
for pkg in $(node -p 'require("./package.json").workspaces.join(" ")'); do
  check "publint $pkg" npx publint "$pkg" --strict
  check "arethetypeswrong $pkg (packed, ESM only)" types_resolve "$pkg"
done

# Conformance: every vector, and every case against our own server over all transports.
bash conformance/run-ci.sh > "$results/conformance.log" 2>&1
conformance_status=$?
grep -E '^(pnm-conformance|FAIL|[0-9]+ passed, [0-9]+ failed$)' "$results/conformance.log" | sed 's/^/   [conformance] /'
while read -r cp cf; do passed=$((passed + cp)); failed=$((failed + cf)); done \
  < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$results/conformance.log")
if [ "$conformance_status" -ne 0 ] && ! grep -qE '^[0-9]+ passed, [1-9][0-9]* failed$' "$results/conformance.log"; then
  failed=$((failed + 1)); echo "FAIL conformance run"; tail -20 "$results/conformance.log"
fi

# The packages as a consumer installs them (scripts/consumer-test.ts): the tarballs in a scratch
# project, plain node, pnm-server and pnm-conformance as installed, the bundled client in Chromium.
node --import tsx scripts/consumer-test.ts > "$results/consumer.log" 2>&1
consumer_status=$?
grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$results/consumer.log" | sed 's/^/   [consumer] /'
while read -r cp cf; do passed=$((passed + cp)); failed=$((failed + cf)); done \
  < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$results/consumer.log")
if [ "$consumer_status" -ne 0 ] && ! grep -qE '^[0-9]+ passed, [1-9][0-9]* failed$' "$results/consumer.log"; then
  failed=$((failed + 1)); echo "FAIL consumer test run"; tail -20 "$results/consumer.log"
fi

npx vitest run --reporter=default --reporter=json --outputFile="$results/vitest.json"
read -r vp vf < <(node -e '
  const r = require(process.argv[1]);
  console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTestSuites > 0 && r.success === false && r.numFailedTests === 0 ? 1 : 0));
' "$results/vitest.json" 2>/dev/null || echo "0 1")
passed=$((passed + vp)); failed=$((failed + vf))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
