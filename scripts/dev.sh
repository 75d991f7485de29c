#!/usr/bin/env bash
# Runs a TypeScript file of this checkout from source, after bootstrap (so a
# nats-server is at hand): the packages resolve to their src/ through the
# "pnm-source" export condition, and tsx compiles on load.
# Usage: bash scripts/dev.sh bench/rpc.ts [ARGS...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
exec node --conditions=pnm-source --import tsx "$@"
