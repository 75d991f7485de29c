#!/usr/bin/env bash
# CI entry of the conformance harness: the test vectors, then every case
# against pnm's own server (started by the harness) over all transports.
# Extra arguments go to the case run, e.g. --report conformance-report.json.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cli=(node "$root/conformance/bin/pnm-conformance.js")
status=0
"${cli[@]}" vectors || status=1
"${cli[@]}" --spawn "node --import tsx server/src/main.ts" \
  --known-failing conformance/known-failing/pnm-server.txt "$@" || status=1
exit "$status"
