#!/usr/bin/env bash
# npm start: the pnm-server command, with its own nats-server unless PNM_NATS_URL is set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
# The demo app, served at /demo/ when the server runs in dev mode (PNM_DEV_MODE; on with generated dev credentials).
if [ -z "${PNM_DEMO_DIR:-}" ] && node --import tsx "$root/demo/build.ts" "$root/demo/dist" >&2; then
  export PNM_DEMO_DIR="$root/demo/dist"
fi
exec node "$root/server/dist/cli/pnm-server.js"
