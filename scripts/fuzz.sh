#!/usr/bin/env bash
# Runs every Go fuzz target of the project for FUZZTIME each (default 2s,
# as `make test` does; `make fuzz` runs them longer). A failing input is
# saved under the package's testdata/fuzz/ by `go test` and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-2s}"
mapfile -t targets < <(git grep -n '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' -- '*_test.go' |
  sed -E 's#^(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort -u)
failed=0
for t in "${targets[@]}"; do
  dir=${t% *}
  name=${t#* }
  mod=.
  pkg=./$dir
  if [[ $dir == bench/* ]]; then mod=bench; pkg=./${dir#bench/}; fi
  printf '  %-60s %s\n' "$pkg" "$name"
  if ! (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/tracecomb-fuzz.$$ 2>&1); then
    cat /tmp/tracecomb-fuzz.$$
    failed=1
  fi
done
rm -f /tmp/tracecomb-fuzz.$$
exit $failed
