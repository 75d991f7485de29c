#!/usr/bin/env bash
# npm start: the pnm-server command, with its own nats-server unless PNM_NATS_URL is set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
exec node "$root/server/dist/cli/pnm-server.js"
