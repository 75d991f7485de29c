#!/usr/bin/env bash
# Prepares a checkout, doing only what is missing or stale: npm dependencies,
# nats-server >= 2.10 (exported as PNM_NATS_SERVER_BIN), and the packages'
# dist/ (an incremental build). A build with type errors still writes dist/
# (tsc emits regardless), so the server starts; `npm test` reports the errors.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -x node_modules/.bin/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies" >&2
  npm ci --no-audit --no-fund >&2
fi
PNM_NATS_SERVER_BIN="$(bash scripts/ensure-nats.sh)"
export PNM_NATS_SERVER_BIN
bash scripts/build.sh >&2 || echo "the build reported errors (above); npm test lists them" >&2
