#!/usr/bin/env bash
# Builds tracecomb (and its web UI when the sources are there) and starts it
# with the embedded store in ./tracecomb-data. Extra arguments go to
# `tracecomb serve`. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f web/package.json ]; then
  make -s web
fi
go build -o bin/tracecomb ./cmd/tracecomb
exec ./bin/tracecomb serve "$@"
