# tracecomb — the README's two commands are `make run` and `make test`.
.PHONY: run test build fuzz

run: ## build (UI included when its sources are there) and start tracecomb with the embedded store
	./scripts/run.sh

test: ## every test, installing what the tests need on a fresh machine
	./scripts/test.sh

build:
	go build -o bin/tracecomb ./cmd/tracecomb

fuzz: ## every fuzz target for FUZZTIME each (default 1m); make test runs them for 2s
	FUZZTIME=$${FUZZTIME:-1m} FUZZJOBS=$${FUZZJOBS:-1} FUZZWORKERS=$${FUZZWORKERS:-$$(nproc)} ./scripts/fuzz.sh

# The Week 2 lesson without Docker: tracecomb in place of Honeycomb and the
# X-Ray daemon, and the Cruddur backend sending to it
# (examples/cruddur/README.md, "Run the lesson locally").

GO ?= go
LOADGEN_FLAGS ?= -url http://127.0.0.1:4567 -rate 50 -concurrency 4 -duration 30s

.PHONY: lesson backend loadgen

# Build tracecomb and the backend, then run both (Ctrl-C stops them).
lesson: backend
	$(GO) build -o bin/tracecomb ./cmd/tracecomb
	bin/cruddur-lesson

# Build the Cruddur backend.
backend:
	$(GO) build -o bin/cruddur-backend ./examples/cruddur/cmd/backend

# Build the load generator and drive the running backend with LOADGEN_FLAGS.
loadgen:
	$(GO) build -o bin/cruddur-loadgen ./examples/cruddur/cmd/loadgen
	bin/cruddur-loadgen $(LOADGEN_FLAGS)

# --- web UI (sources in web/, built into internal/web/dist, embedded by go build) ---
.PHONY: web web-test

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# The build is redone only when a UI source changed since the last one: the
# stamp is written after vite succeeds, and the directories are listed too so
# that a deleted file counts as a change.
WEB_SRC := $(shell find web/src web/public -print 2>/dev/null) \
	web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
WEB_STAMP := internal/web/dist/.stamp

$(WEB_STAMP): web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run -s build
	touch internal/web/dist/.keep $@

web: $(WEB_STAMP) ## build the web UI into internal/web/dist (only when its sources changed)

# Screenshots go to web/build/screenshots (git-ignored); `make screenshots`
# writes them to docs/screenshots instead.
web-test: web ## browser tests: real tracecomb binary, OTel JS SDK, Chromium via playwright-core
	cd web && npm test

# The trace page with traces of 10,000 and 100,000 spans: the trace API's
# time, the page's ready time, a search and the critical path (SIZES=… to
# choose); not part of make test.
.PHONY: bench-tracepage
bench-tracepage: web
	cd web && node bench/tracepage.mjs

.PHONY: screenshots
screenshots: web ## the browser tests, writing their screenshots to docs/screenshots
	cd web && TRACECOMB_SCREENSHOTS=docs/screenshots npm test

# --- benchmarks: tracecomb and Jaeger v2 side by side (bench/, its own module) ---
# Jaeger is built from its Go module on first use (several minutes on 2 cores)
# and cached in bench/.cache/; its version and dependencies are pinned in
# bench/jaeger/go.mod, a module of its own (the harness's module requires
# tracecomb's, whose newer dependencies Jaeger does not build with).
.PHONY: bench bench-quick bench-bins
BENCH_CACHE := bench/.cache
BENCH_FLAGS ?=

$(BENCH_CACHE)/jaeger: bench/jaeger/go.mod bench/jaeger/go.sum
	mkdir -p $(BENCH_CACHE)
	cd bench/jaeger && $(GO) build -o ../.cache/jaeger github.com/jaegertracing/jaeger/cmd/jaeger

bench-bins: $(BENCH_CACHE)/jaeger
	$(GO) build -o $(BENCH_CACHE)/tracecomb ./cmd/tracecomb
	cd bench && $(GO) build -o .cache/tcbench ./cmd/tcbench

bench: bench-bins ## full comparison; writes docs/benchmarks.md and docs/bench/throughput.svg
	cd bench && .cache/tcbench -tracecomb .cache/tracecomb -jaeger .cache/jaeger \
		-out ../docs/benchmarks.md -plot ../docs/bench/throughput.svg -plot-ref bench/throughput.svg $(BENCH_FLAGS)

bench-quick: bench-bins ## small workload (100k spans over HTTP), one repetition, one line per ratio (about a minute once built)
	cd bench && .cache/tcbench -quick -tracecomb .cache/tracecomb -jaeger .cache/jaeger $(BENCH_FLAGS)

# tracecomb on a clickhouse-server 18.16 the harness starts (apt-get install
# clickhouse-server): ingest on one and two nodes, queries and bytes per span
# at 10M spans (about 20 minutes on 2 shared cores); writes the measured part of
# docs/benchmarks.md's ClickHouse section. bench-clickhouse-quick prints a
# small run's figures instead (about a minute). Neither needs Jaeger.
.PHONY: bench-clickhouse bench-clickhouse-quick bench-tc-bins
bench-tc-bins:
	mkdir -p $(BENCH_CACHE)
	$(GO) build -o $(BENCH_CACHE)/tracecomb ./cmd/tracecomb
	cd bench && $(GO) build -o .cache/tcbench ./cmd/tcbench

bench-clickhouse: bench-tc-bins ## ClickHouse store: 1 and 2 nodes, 10M spans; writes docs/benchmarks.md's ClickHouse section
	cd bench && .cache/tcbench -clickhouse -tracecomb .cache/tracecomb -out ../docs/benchmarks.md $(BENCH_FLAGS)

bench-clickhouse-quick: bench-tc-bins ## the ClickHouse scenario on a small workload, printed
	cd bench && .cache/tcbench -clickhouse -quick -tracecomb .cache/tracecomb $(BENCH_FLAGS)

# One tracecomb node on the DuckDB store, bulk-loaded to 100M spans through the
# store's Write (50,000 events at a time), then queried through its HTTP API;
# writes the measured part of docs/benchmarks.md's scale section. Needs about
# 13 GB free in the temporary directory (or -scale-dir) and 30-40 minutes on 2
# quiet cores; the data directory is removed at the end. A quick check:
# BENCH_FLAGS=-scale-spans=1000000; on a busy machine, -scale-max-load=60m
# stops the load after an hour and queries what was loaded.
.PHONY: bench-scale
bench-scale: bench-tc-bins ## DuckDB store at 100M spans (bulk-loaded): load rate, bytes/span, queries; writes docs/benchmarks.md's scale section
	cd bench && .cache/tcbench -scale -tracecomb .cache/tracecomb -out ../docs/benchmarks.md $(BENCH_FLAGS)
