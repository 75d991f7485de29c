#!/usr/bin/env bash
# CI entry of the conformance harness: the test vectors, then every case
# against pnm's own server (started by the harness with generated LiveKit
# credentials) over all transports, NATS plane included, then the media cases
# against a second server started without LiveKit, then the upstream-web-client
# profile against a third with PNM_UPSTREAM_WEB_CLIENT=on. Extra arguments go
# to the main case run, e.g. --report conformance-report.json.
# Both commands run as installed: the built bins, no TypeScript at run time.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/bootstrap.sh # dependencies, nats-server, dist/
set +e                      # (bootstrap sets -e; each run's status is collected instead)
cli=(node "$root/conformance/dist/bin/pnm-conformance.js")
server="node server/dist/cli/pnm-server.js"
known=conformance/known-failing/pnm-server.txt
status=0
"${cli[@]}" vectors || status=1
"${cli[@]}" --spawn "$server" --known-failing "$known" "$@" || status=1
"${cli[@]}" --spawn "$server" --no-livekit --filter media/ --known-failing "$known" || status=1
# Rooms open to upstream's web client, on a server that allows them; without LiveKit, so media refusals are seen.
PNM_UPSTREAM_WEB_CLIENT=on "${cli[@]}" --spawn "$server" --no-livekit --profile upstream-web-client \
  --known-failing "$known" || status=1
exit "$status"
