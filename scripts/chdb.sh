#!/usr/bin/env bash
# Installs libchdb (ClickHouse as a library, from the npm package
# @chdb/lib-linux-x64-gnu) into a cache directory outside the work tree and
# prints the path of libchdb.so. Nothing is downloaded when that version is
# already there. The ClickHouse store's tests run their conformance suites
# on it (current ClickHouse) as well as on Debian's clickhouse-server;
# scripts/test.sh exports the path as CHDB_LIB_PATH.
set -euo pipefail

version=26.7.3-stable.1 # ClickHouse 26.7.2
pkg=@chdb/lib-linux-x64-gnu

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*) echo "chdb.sh: $pkg is for Linux x86-64 only" >&2; exit 1 ;;
esac

dir=${XDG_CACHE_HOME:-$HOME/.cache}/tracecomb/chdb-$version
lib=$dir/node_modules/$pkg/libchdb.so
if [ ! -s "$lib" ]; then
  command -v npm >/dev/null || { echo "chdb.sh: npm not found (Node.js with npm is a prerequisite)" >&2; exit 1; }
  mkdir -p "$(dirname "$dir")"
  # Installed beside the final place and renamed into it, so an interrupted
  # download never counts as installed.
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "chdb.sh: installing $pkg@$version (about 570 MB) into $dir" >&2
  (cd "$tmp" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tmp" "$pkg@$version" >&2)
  [ -s "$tmp/node_modules/$pkg/libchdb.so" ] || { echo "chdb.sh: $pkg@$version has no libchdb.so" >&2; exit 1; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$lib"
