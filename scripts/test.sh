#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need on a fresh
# machine first (Debian packages; libchdb through scripts/chdb.sh; npm packages
# through make web). The tests start the servers they talk to themselves.
# Used by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }

# The tests must leave the work tree as they found it (nothing written into
# tracked or unignored paths); checked at the end.
tree_state() { git status --porcelain=v1 --untracked-files=all 2>/dev/null | LC_ALL=C sort; }
before=$(tree_state)

# --- tools the tests drive -------------------------------------------------
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
export TRACECOMB_AWS_CLI=/usr/bin/aws
# libchdb (current ClickHouse in-process; the ClickHouse store's tests run on
# it too), cached outside the work tree.
CHDB_LIB_PATH=$(./scripts/chdb.sh)
export CHDB_LIB_PATH

# --- static checks ---------------------------------------------------------
log "gofmt"
bad=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi

# The web UI is built first: `make web` writes internal/web/dist, which
# every Go build embeds, so it must not run while Go builds do.
have_web=0
if [ -f web/package.json ]; then
  have_web=1
  log "web UI build"
  make -s web
fi

# The Go steps run in two lanes at once: `go test -race` (much of it
# waiting on servers, clocks and child processes) beside go vet,
# staticcheck, the fuzz smoke, the bench module and then the browser tests.
# The second lane's output is printed when both are done; either failing
# fails the run.
lane2_log=$(mktemp)
trap 'rm -f "$lane2_log"' EXIT
(
  set -euo pipefail
  log "go vet"
  go vet ./...
  log "staticcheck"
  go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

  # Every fuzz target, briefly (a failing input is saved and fails the run;
  # `make fuzz` runs them longer).
  log "fuzz targets, ${FUZZTIME:-2s} each"
  ./scripts/fuzz.sh

  # The benchmark harness is its own module (Jaeger is built from another, bench/jaeger).
  log "bench module: go vet, staticcheck, go test"
  (cd bench && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -count=1 ./...)

  # Browser tests: a real tracecomb binary, the OTel JS SDK, Chromium.
  if [ "$have_web" -eq 1 ]; then
    log "web UI tests"
    (cd web && npm test)
  fi
  log "second lane done"
) >"$lane2_log" 2>&1 &
lane2=$!

# --- Go tests --------------------------------------------------------------
log "go test -race (beside it: go vet, staticcheck, fuzz targets, bench module, browser tests)"
# go test starts the packages' test binaries in the order they are listed
# (each once the builds before it are done) and runs -p jobs, builds and
# test binaries alike, at a time. The packages whose tests take longest
# come first, so that they start early rather than after every package
# before them in ./... order, and none is left running alone at the end.
# -p 3: much of their time is spent waiting on servers, child processes
# and clocks, so a third job builds and runs the short packages meanwhile;
# -parallel 4 lets up to four of a package's parallel tests (t.Parallel:
# tests running their own processes and servers) wait at once.
longest=(./internal/store/duckdb ./internal/app ./internal/store/clickhouse ./internal/api/xray
  ./examples/cruddur ./internal/api/query ./internal/state/postgres)
status=0
go test -race -timeout 20m -count=1 -p 3 -parallel 4 "${longest[@]}" ./... || status=$?
log "go test -race done (exit $status); waiting for the second lane"
lane2_status=0
wait "$lane2" || lane2_status=$?
cat "$lane2_log"
if [ "$status" -ne 0 ] || [ "$lane2_status" -ne 0 ]; then
  log "failed: go test -race exit $status, second lane exit $lane2_status"
  exit 1
fi

if [ "$have_web" -eq 1 ]; then
  log "an unchanged UI is not rebuilt (make run builds it only when its sources changed)"
  if ! make -q internal/web/dist/.stamp; then
    echo "make run would rebuild the UI although no source of it changed"
    exit 1
  fi
fi
log "work tree as the tests found it?"
after=$(tree_state)
if [ "$before" != "$after" ]; then
  echo "the tests changed the work tree:"
  diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
log "all tests passed"
