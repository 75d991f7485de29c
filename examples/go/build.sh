#!/usr/bin/env bash
# Builds examples/go/room-demo offline with Debian's Go toolchain and prints the
# binary's path. In order, each step skipped when its output is up to date:
#   1. protoc-gen-go v1.28 (proto3 `optional` support) from golang-google-protobuf-dev's
#      sources in /usr/share/gocode; Debian's own protoc-gen-go 1.3.5 predates `optional`;
#   2. Go stubs for every file of proto/ with protoc, protoc-gen-go and protoc-gen-go-grpc,
#      at the import paths the files' go_package options name;
#   3. the example, in GOPATH mode against /usr/share/gocode (gRPC 1.33, protobuf 1.28).
# Everything goes to examples/go/.build/ (git-ignored), Go's build cache included.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/.build"
gocode="${PNM_GOCODE:-/usr/share/gocode}"

export GO111MODULE=off GOFLAGS= GOPROXY=off
export GOPATH="$build/gopath:$gocode" GOCACHE="$build/cache"
for tool in go protoc protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: run scripts/ensure-languages.sh" >&2; exit 1; }
done
for pkg in google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc; do
  [ -d "$gocode/src/$pkg" ] || { echo "$gocode/src/$pkg is missing: run scripts/ensure-languages.sh" >&2; exit 1; }
done
mkdir -p "$build/bin"

plugin="$build/bin/protoc-gen-go"
if [ ! -x "$plugin" ]; then
  echo "building protoc-gen-go from $gocode" >&2
  go build -o "$plugin" google.golang.org/protobuf/cmd/protoc-gen-go
fi

stubs="$build/gopath/src"
stamp="$build/stubs.stamp"
if [ ! -f "$stamp" ] || [ "$plugin" -nt "$stamp" ] || [ -n "$(find "$root/proto" -name '*.proto' -newer "$stamp")" ]; then
  echo "generating Go stubs from proto/" >&2
  rm -rf "$stubs"
  mkdir -p "$stubs"
  mapfile -t protos < <(cd "$root/proto" && find . -name '*.proto' | sed 's|^\./||' | sort)
  protoc -I "$root/proto" --plugin=protoc-gen-go="$plugin" --go_out="$stubs" --go-grpc_out="$stubs" "${protos[@]}"
  touch "$stamp"
fi

cd "$here"
go build -o "$build/bin/room-demo" .
echo "$build/bin/room-demo"
