#!/usr/bin/env bash
# npm run demo: builds the demo app (demo/build.ts) and runs pnm-server in dev mode, which serves it at
# /demo/ on the server's own port and prints its address. Dev mode signs API requests for anyone who
# can reach the port: keep it on a developer's machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
export PNM_DEMO_DIR="${PNM_DEMO_DIR:-$root/demo/dist}"
node --import tsx "$root/demo/build.ts" "$PNM_DEMO_DIR"
export PNM_DEV_MODE=on
exec node "$root/server/dist/cli/pnm-server.js"
