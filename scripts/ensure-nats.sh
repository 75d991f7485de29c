#!/usr/bin/env bash
# Prints the path of a nats-server >= 2.10 (auth callout needs it), installing one
# into .tools/ from Debian trixie when neither PATH nor .tools/ has one.
# Debian bookworm ships 2.9, which has no auth callout; trixie's build links only libc.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
local_bin="$tools/nats-server/usr/sbin/nats-server"

new_enough() {
  local v
  v="$("$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)" || return 1
  [ -n "$v" ] || return 1
  local major minor
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 10 ]; }
}

if [ -n "${PNM_NATS_SERVER_BIN:-}" ] && new_enough "$PNM_NATS_SERVER_BIN"; then echo "$PNM_NATS_SERVER_BIN"; exit 0; fi
if command -v nats-server >/dev/null 2>&1 && new_enough "$(command -v nats-server)"; then command -v nats-server; exit 0; fi
if [ -x "$local_bin" ] && new_enough "$local_bin"; then echo "$local_bin"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$tools"
echo "deb http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives" -o "APT::Sandbox::User=root")
echo "installing nats-server >= 2.10 from Debian trixie into $tools" >&2
apt-get "${apt_opts[@]}" update -qq >&2
(cd "$work" && apt-get "${apt_opts[@]}" download nats-server >&2)
rm -rf "$tools/nats-server"
dpkg -x "$work"/nats-server_*.deb "$tools/nats-server"
new_enough "$local_bin" || { echo "nats-server in $tools is older than 2.10" >&2; exit 1; }
echo "$local_bin"
