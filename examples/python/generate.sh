#!/usr/bin/env bash
# Generates the Python message and gRPC stubs for every file of proto/ into
# examples/python/gen/ with Debian's protoc (3.21) and grpc_python_plugin.
# Skips the work when gen/ is newer than every .proto file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/gen"
protoc="${PROTOC:-/usr/bin/protoc}"
plugin="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"
for tool in "$protoc" "$plugin"; do
  [ -x "$tool" ] || { echo "$tool is missing: run scripts/ensure-languages.sh (Debian: protobuf-compiler, protobuf-compiler-grpc)" >&2; exit 1; }
done

mapfile -t protos < <(cd "$root/proto" && find . -name '*.proto' | sed 's|^\./||' | sort)
stamp="$out/.generated"
if [ -f "$stamp" ] && [ -z "$(cd "$root/proto" && find . -name '*.proto' -newer "$stamp")" ]; then exit 0; fi

rm -rf "$out"
mkdir -p "$out"
"$protoc" -I "$root/proto" \
  --python_out="$out" \
  --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  "${protos[@]}"
touch "$stamp"
echo "generated Python stubs for ${#protos[@]} files into $out" >&2
