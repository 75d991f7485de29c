#!/usr/bin/env bash
# Installs what a fresh clone needs, once: npm dependencies and nats-server >= 2.10.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -x node_modules/.bin/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies" >&2
  npm ci --no-audit --no-fund >&2
fi
PNM_NATS_SERVER_BIN="$(bash scripts/ensure-nats.sh)"
export PNM_NATS_SERVER_BIN
