#!/usr/bin/env bash
# Installs, when missing, the Debian packages the Python and Go examples
# (examples/) need: protoc 3.21, the gRPC Python plugin, grpcio and protobuf for
# /usr/bin/python3, Go 1.19 with the gRPC and protobuf sources, and
# protoc-gen-go-grpc. Silent when everything is there; apt-get update runs once
# and only when something is missing.
set -euo pipefail
packages=(
  protobuf-compiler          # protoc 3.21
  protobuf-compiler-grpc     # grpc_python_plugin
  python3-grpcio
  python3-protobuf
  golang-go                  # Go 1.19
  golang-google-grpc-dev     # google.golang.org/grpc sources (GOPATH /usr/share/gocode)
  golang-google-protobuf-dev # google.golang.org/protobuf sources, protoc-gen-go v1.28 among them
  protoc-gen-go-grpc
)

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${missing[*]}: install them (or your system's equivalents) to build the examples" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "missing ${missing[*]}: run as root or install them with apt-get" >&2; exit 1; }
  sudo=(sudo)
fi
echo "installing ${missing[*]} (the other-language examples)" >&2
# Waits for another apt/dpkg run to release its lock instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=600 -qq)
"${sudo[@]}" apt-get "${apt_opts[@]}" update >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >&2
