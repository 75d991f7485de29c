#!/usr/bin/env bash
# Builds every package's dist/ (ESM, declarations, source maps) with tsc -b,
# which rebuilds only what changed, and copies into the packages what their
# tarballs carry from the repository root: the LICENSE, and the .proto files
# into @pnm/protocol. dist/, the copies and *.tsbuildinfo are git-ignored.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rm -rf protocol/proto
cp -R proto protocol/proto
for pkg in $(node -p 'require("./package.json").workspaces.join(" ")'); do
  cp LICENSE "$pkg/LICENSE"
done
exec npx tsc -b tsconfig.build.json
