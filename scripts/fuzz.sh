#!/usr/bin/env bash
# Runs every Go fuzz target of the project for FUZZTIME each (default 2s,
# as `make test` does; `make fuzz` runs them longer), FUZZJOBS packages at a
# time (default 2: a 2 s smoke run of each target is mostly waiting on the
# build and the clock, so two at once halve the wall time; `make fuzz` runs
# one at a time, each with the whole machine), each target with
# FUZZWORKERS workers (default 1: the smoke runs beside `go test -race` and
# competes with it for the cores; `make fuzz` uses one per core). A
# failing input is saved under the package's testdata/fuzz/ and fails the
# run.
#
# Each package's fuzz-instrumented test binary is built once (`go test -c
# -fuzz`, the build `go test -fuzz` does) and run for each of its targets
# the way `go test -fuzz` runs it: in the package's directory, with the
# package's fuzz cache under $GOCACHE/fuzz. `go test -fuzz` would link the
# binary again for every target.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZTIME="${FUZZTIME:-2s}"
jobs="${FUZZJOBS:-2}"
export FUZZWORKERS="${FUZZWORKERS:-1}"
# "dir name" lines, one a target.
mapfile -t targets < <(git grep -n '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' -- '*_test.go' |
  sed -E 's#^(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort -u)
# "dir name name…" lines, one a package, the packages with most targets first
# (so that the last job to start is a short one).
mapfile -t packages < <(printf '%s\n' "${targets[@]}" |
  awk '{n[$1]++; t[$1]=t[$1] " " $2} END {for (d in n) print n[d] "\t" d t[d]}' |
  sort -t$'\t' -k1,1nr -k2 | cut -f2)

FUZZBIN=$(mktemp -d "${TMPDIR:-/tmp}/tracecomb-fuzz.XXXXXX")
trap 'rm -rf "$FUZZBIN"' EXIT
FUZZCACHE="$(go env GOCACHE)/fuzz"
export FUZZBIN FUZZCACHE

# fuzz_pkg builds one package's test binary and runs each of its targets
# ("dir name name…"), and prints what it did in one block.
fuzz_pkg() {
  local dir=${1%% *} names=${1#* } mod=. pkg importpath bin out report status=0
  pkg=./$dir
  if [[ $dir == bench/* ]]; then mod=bench; pkg=./${dir#bench/}; fi
  bin=$FUZZBIN/${dir//\//_}.test
  out=$(mktemp)
  report=""
  if ! (cd "$mod" && go test -c -fuzz . -o "$bin" "$pkg") >"$out" 2>&1 ||
    ! importpath=$(cd "$mod" && go list -f '{{.ImportPath}}' "$pkg" 2>>"$out"); then
    printf '  %-60s (build)\n%s\n' "$pkg" "$(cat "$out")"
    rm -f "$out"
    return 1
  fi
  for name in $names; do
    report+=$(printf '  %-60s %s' "$pkg" "$name")$'\n'
    for try in 1 2; do
      if (cd "$dir" && "$bin" -test.paniconexit0 -test.timeout 10m -test.run '^$' \
        -test.fuzz "^${name}\$" -test.fuzztime "$FUZZTIME" -test.parallel "$FUZZWORKERS" \
        -test.fuzzcachedir "$FUZZCACHE/$importpath") >"$out" 2>&1; then
        break
      fi
      # Go 1.26's fuzz coordinator can report a bare "context deadline
      # exceeded" when -fuzztime ends while a worker is mid-call on a busy
      # machine (go.dev/issue/75804, fixed in Go 1.27): no input failed and
      # none was written (a real failure always writes its input under
      # testdata/fuzz/ and says so). Such a run is tried once more, and a
      # second one is reported and passed over; anything else fails.
      if grep -q 'context deadline exceeded' "$out" &&
        ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$out"; then
        if [[ $try == 1 ]]; then
          report+="    (the fuzz coordinator's deadline race, go.dev/issue/75804: running it again)"$'\n'
          continue
        fi
        report+="    (the deadline race again, no input failed: passed over)"$'\n'
        break
      fi
      report+="$(cat "$out")"$'\n'
      status=1
      break
    done
  done
  rm -f "$out" "$bin"
  printf '%s' "$report"
  return $status
}
export -f fuzz_pkg

# xargs exits non-zero when any target failed.
printf '%s\n' "${packages[@]}" | xargs -d '\n' -P "$jobs" -I{} bash -c 'fuzz_pkg "$1"' _ {}
