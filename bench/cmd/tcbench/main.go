// Command tcbench runs tracecomb and Jaeger v2 (memory and Badger storage)
// side by side on this machine with the same workload, alternating the
// order of the systems between repetitions, and reports the median of each
// figure and the ratio tracecomb/Jaeger. With -out it writes the Markdown
// report and with -plot an SVG of ingest throughput over time; -quick runs
// a small workload and prints one line per ratio. A full run ends with the
// retention scenario (retention.go: an hour of spans under an age limit, a
// sustained stream under a size limit); -retention runs only that and, with
// -out, replaces the report's retention section. -clickhouse runs only
// the ClickHouse scenario (clickhouse.go: ingest on one and two tracecomb
// nodes on one clickhouse-server, queries and bytes per span at -ch-spans)
// and, with -out, replaces its measured part of the report. -scale runs
// only the scale scenario (scale.go: one node on DuckDB bulk-loaded to
// -scale-spans through the store's Write, then queried over HTTP) and,
// with -out, replaces its measured part of the report.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	tracecomb := flag.String("tracecomb", ".cache/tracecomb", "tracecomb binary")
	jaeger := flag.String("jaeger", ".cache/jaeger", "Jaeger v2 binary")
	out := flag.String("out", "", "write the Markdown report here")
	plot := flag.String("plot", "", "write the throughput SVG here")
	plotRef := flag.String("plot-ref", "bench/throughput.svg", "the SVG's path as the report links it")
	quick := flag.Bool("quick", false, "small workload, one repetition; print the ratios")
	spans := flag.Int("spans", 800_000, "spans sent over OTLP/HTTP per system and repetition")
	grpcSpans := flag.Int("grpc-spans", 200_000, "spans sent over OTLP/gRPC, in slices interleaved with the HTTP ones")
	sliceSpans := flag.Int("slice-spans", 50_000, "spans of one slice of HTTP or gRPC batches; the slices of the two protocols are interleaved")
	reps := flag.Int("reps", 3, "repetitions")
	lookups := flag.Int("lookups", 100, "trace-by-id lookups per run")
	searches := flag.Int("searches", 30, "searches per run")
	conc := flag.Int("concurrency", 4, "concurrent exporters")
	signalSpans := flag.Int("signal-spans", 200_000, "spans sent as each signal (OTLP traces, Events API, OTLP logs) to tracecomb")
	keep := flag.Bool("keep", false, "keep every run's data directory and logs (their paths are logged)")
	only := flag.String("systems", strings.Join(systems, ","), "systems to run, comma-separated")
	retOnly := flag.Bool("retention", false, "run only the retention scenario (tracecomb only); with -out, replace the report's retention section")
	noRet := flag.Bool("no-retention", false, "leave the retention scenario out of a full run")
	rs := retentionSizes{Sample: time.Second}
	flag.IntVar(&rs.AgeSpans, "retention-spans", 1_200_000, "retention by age: spans sent, event times spread over -retention-window")
	flag.DurationVar(&rs.AgeWindow, "retention-window", time.Hour, "retention by age: the event times of the spans span this, ending now")
	flag.DurationVar(&rs.MaxAge, "retention-age", 10*time.Minute, "retention by age: tracecomb's --retention-age")
	sizeMiB := flag.Int64("retention-size-mib", 256, "retention by size: tracecomb's --retention-size, in MiB")
	flag.DurationVar(&rs.Hold, "retention-hold", 2*time.Minute, "retention by size: keep sending this long after the data directory reaches the limit")
	flag.DurationVar(&rs.MaxRun, "retention-max", 8*time.Minute, "retention by size: stop sending after this long in any case")
	chOnly := flag.Bool("clickhouse", false, "run only the ClickHouse scenario (clickhouse.go, tracecomb only); with -out, replace the measured part of the report's ClickHouse section")
	cs := chSizes{TracesPerBatch: 50}
	flag.IntVar(&cs.IngestSpans, "ch-ingest-spans", 1_000_000, "ClickHouse: spans of each ingest measurement (one node, two nodes, DuckDB)")
	flag.IntVar(&cs.Spans, "ch-spans", 10_000_000, "ClickHouse: spans stored before the queries (loaded through the two nodes)")
	flag.IntVar(&cs.Chunk, "ch-chunk", 500_000, "ClickHouse: spans generated at a time while loading to -ch-spans")
	flag.IntVar(&cs.Queries, "ch-queries", 10, "ClickHouse: GROUP BY service queries at -ch-spans")
	flag.IntVar(&cs.Concurrency, "ch-concurrency", 64, "ClickHouse: concurrent exporters per node (their requests reach ClickHouse as one INSERT per group commit)")
	flag.BoolVar(&cs.DuckDB, "ch-duckdb", true, "ClickHouse: measure tracecomb on DuckDB with the same ingest spans too")
	flag.BoolVar(&cs.Optimize, "ch-optimize", true, "ClickHouse: measure the bytes again after OPTIMIZE TABLE … FINAL")
	scaleOnly := flag.Bool("scale", false, "run only the scale scenario (scale.go: one node on DuckDB, bulk-loaded to -scale-spans, then queried over HTTP); with -out, replace the measured part of the report's scale section")
	ss := scaleSizes{Samples: 100_000}
	flag.IntVar(&ss.Spans, "scale-spans", 100_000_000, "scale: spans bulk-loaded into the store")
	flag.IntVar(&ss.WriteEvents, "scale-write-events", 50_000, "scale: events per Store.Write of the bulk load")
	flag.DurationVar(&ss.Window, "scale-window", 24*time.Hour, "scale: trace start times spread over this, ending when the load starts")
	flag.IntVar(&ss.Lookups, "scale-lookups", 200, "scale: traces by id, ids drawn at random from the loaded traces")
	flag.IntVar(&ss.Searches, "scale-searches", 50, "scale: service + attribute searches")
	flag.IntVar(&ss.Queries, "scale-queries", 10, "scale: GROUP BY service queries")
	flag.DurationVar(&ss.MaxLoad, "scale-max-load", 0, "scale: stop loading after this long and query what was loaded (0: load -scale-spans)")
	flag.StringVar(&ss.MemoryLimit, "scale-memory-limit", "256MB", "scale: DuckDB memory limit of the loader and the node's --store-memory-limit (256MB is tracecomb's default)")
	flag.StringVar(&ss.Dir, "scale-dir", "", "scale: directory to create the run's data directory in (default: the system's temporary directory)")
	flag.Parse()
	cs.Lookups = *lookups
	rs.MaxBytes = *sizeMiB << 20
	systems = strings.Split(*only, ",")
	keepDirs = *keep

	sz := sizes{HTTPSpans: *spans, GRPCSpans: *grpcSpans, SliceSpans: *sliceSpans, Reps: *reps, Lookups: *lookups, Searches: *searches,
		Concurrency: *conc, TracesPerBatch: 50, SignalSpans: *signalSpans,
		XRayRates: []float64{1000, 2000, 5000, 10000, 20000, 40000}, XRayStep: 2 * time.Second}
	if *quick {
		// Large enough that start-up does not decide the ratios (with
		// 20,000 spans Jaeger's memory store spent 13 CPU s per 100k
		// spans, 2.3-3.2 in larger runs), small enough for under two
		// minutes once built.
		sz = sizes{HTTPSpans: 100_000, GRPCSpans: 25_000, SliceSpans: *sliceSpans, Reps: 1, Lookups: 50, Searches: 10, Concurrency: *conc,
			TracesPerBatch: 50, SignalSpans: 20_000, XRayRates: []float64{2000, 5000, 10000, 20000}, XRayStep: 300 * time.Millisecond}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *scaleOnly {
		if *quick {
			ss.Spans, ss.Lookups, ss.Searches, ss.Queries = 200_000, 50, 20, 3
		}
		r, err := runScale(ctx, *tracecomb, ss)
		if err != nil {
			log.Fatal(err)
		}
		writeMeasured(*out, scaleMarkdown(r, "cd bench && go run ./cmd/tcbench "+strings.Join(os.Args[1:], " ")), spliceScale)
		return
	}
	if *chOnly {
		if *quick {
			cs.IngestSpans, cs.Spans, cs.Chunk, cs.Lookups, cs.Queries = 50_000, 150_000, 50_000, 20, 3
		}
		r, err := runClickHouse(ctx, *tracecomb, cs)
		if err != nil {
			log.Fatal(err)
		}
		writeMeasured(*out, chMarkdown(r, "cd bench && go run ./cmd/tcbench "+strings.Join(os.Args[1:], " ")), spliceClickHouse)
		return
	}
	if *retOnly {
		r, err := runRetention(ctx, *tracecomb, rs, *conc, 50)
		if err != nil {
			log.Fatal(err)
		}
		section := retentionMarkdown(r, "cd bench && go run ./cmd/tcbench "+strings.Join(os.Args[1:], " "))
		if *out == "" {
			fmt.Print(section)
			return
		}
		md, err := os.ReadFile(*out)
		if err != nil && !os.IsNotExist(err) {
			log.Fatal(err)
		}
		if err := os.WriteFile(*out, []byte(spliceRetention(string(md), section)), 0o644); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *quick || *noRet {
		rs = retentionSizes{}
	}
	rep, err := run(ctx, *tracecomb, *jaeger, sz, rs)
	if err != nil {
		log.Fatal(err)
	}
	if *quick {
		printRatios(os.Stdout, rep)
	}
	if *plot != "" {
		if err := os.MkdirAll(filepath.Dir(*plot), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*plot, []byte(throughputSVG(rep)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *out != "" {
		old, err := os.ReadFile(*out)
		if err != nil && !os.IsNotExist(err) {
			log.Fatal(err)
		}
		if err := os.WriteFile(*out, []byte(keepHandSections(string(old), markdown(rep, *plotRef))), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

type report struct {
	Sizes      sizes
	Machine    machine
	Versions   map[string]string
	Runs       map[string][]runFigures // by system, in repetition order
	XRay       []xrayStep
	Signals    [][]signalFigures // by repetition, in runSignals' order
	Started    time.Time
	Took       time.Duration
	LoadBefore string
	LoadAfter  string
	Retention  *retentionReport // nil: not run
}

var allSystems = []string{"tracecomb", "jaeger-memory", "jaeger-badger"}

// keepDirs keeps the runs' directories.
var keepDirs bool

// systems are the ones this invocation runs.
var systems = allSystems

func run(ctx context.Context, tcBin, jBin string, sz sizes, rs retentionSizes) (*report, error) {
	rep := &report{Sizes: sz, Machine: readMachine(), Runs: map[string][]runFigures{}, Started: time.Now(), LoadBefore: loadavg()}
	rep.Versions = versions(tcBin, jBin)
	log.Printf("generating %d+%d spans", sz.HTTPSpans, sz.GRPCSpans)
	w, err := makeWorkload(sz)
	if err != nil {
		return nil, err
	}
	for r := 0; r < sz.Reps; r++ {
		order := slices.Clone(systems)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			dir, err := os.MkdirTemp("", "tcbench-")
			if err != nil {
				return nil, err
			}
			var s *server
			switch name {
			case "tracecomb":
				s, err = startTracecomb(ctx, tcBin, dir)
			case "jaeger-memory":
				s, err = startJaeger(ctx, jBin, dir, false)
			default:
				s, err = startJaeger(ctx, jBin, dir, true)
			}
			if err != nil {
				return nil, err
			}
			log.Printf("rep %d: %s", r+1, name)
			f, err := runSystem(ctx, s, w, sz)
			if err != nil {
				s.kill()
				return nil, fmt.Errorf("rep %d %s: %w (logs in %s)", r+1, name, err, dir)
			}
			log.Printf("rep %d: %s: %.0f spans/s (HTTP), %.0f (gRPC), %.2f CPU s/100k, %.0f MB, %.1f B/span, by id p50 %.2f ms, search p50 %.2f ms %s; found %d/%d by id, %d/%d searches; rejected %d errored %d pushbacks %d %s",
				r+1, name, f.HTTPSpansPS, f.GRPCSpansPS, f.CPUPer100k, f.PeakRSSMB, f.DiskPerSpan, f.ByIDP50, f.SearchP50, f.SearchNote,
				f.ByIDFound, f.ByIDTotal, f.SearchFound, f.SearchTotal, f.Rejected, f.Errored, f.Pushbacks, f.FirstErr)
			rep.Runs[name] = append(rep.Runs[name], f)
			if keepDirs {
				log.Printf("kept %s", dir)
			} else {
				os.RemoveAll(dir)
			}
		}
	}
	if slices.Contains(systems, "tracecomb") {
		log.Printf("signals: %d spans as OTLP traces, Events API batches and OTLP logs", sz.SignalSpans)
		rep.Signals, err = runSignals(ctx, tcBin, sz)
		if err != nil {
			return nil, err
		}
	}
	log.Printf("X-Ray UDP ramp")
	rep.XRay, err = runXRay(ctx, tcBin, sz)
	if err != nil {
		return nil, err
	}
	if rs.AgeSpans > 0 && slices.Contains(systems, "tracecomb") {
		if rep.Retention, err = runRetention(ctx, tcBin, rs, sz.Concurrency, sz.TracesPerBatch); err != nil {
			return nil, err
		}
	}
	rep.Took = time.Since(rep.Started)
	rep.LoadAfter = loadavg()
	return rep, nil
}

type machine struct {
	CPUs   int
	Model  string
	MemGiB float64
	Kernel string
}

func readMachine() machine {
	var m machine
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			switch strings.TrimSpace(k) {
			case "processor":
				m.CPUs++
			case "model name":
				m.Model = strings.TrimSpace(v)
			}
		}
	}
	if kb := memTotalKB(); kb > 0 {
		m.MemGiB = float64(kb) / (1 << 20)
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

func memTotalKB() int64 {
	b, _ := os.ReadFile("/proc/meminfo")
	var kb int64
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			fmt.Sscan(v, &kb)
		}
	}
	return kb
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// versions reads module versions from the binaries' build info.
func versions(tcBin, jBin string) map[string]string {
	v := map[string]string{}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		v["go"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("go", "version", "-m", jBin).Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == "mod" || len(f) >= 3 && f[0] == "dep" && f[1] == "github.com/jaegertracing/jaeger" {
				if f[1] == "github.com/jaegertracing/jaeger" {
					v["jaeger"] = f[2]
				}
			}
		}
	}
	if out, err := exec.Command("go", "version", "-m", tcBin).Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision=") {
				v["tracecomb"] = strings.TrimPrefix(f[1], "vcs.revision=")[:12]
			}
			if len(f) >= 3 && f[0] == "dep" && f[1] == "github.com/duckdb/duckdb-go/v2" {
				v["duckdb-go"] = f[2]
			}
		}
	}
	if _, ok := v["tracecomb"]; !ok {
		if out, err := exec.Command("git", "-C", "..", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
			v["tracecomb"] = strings.TrimSpace(string(out)) + " (HEAD of the checkout the binary was built from)"
		}
	}
	return v
}

// writeMeasured prints a scenario's measured section, or with out splices
// it into that report (splice puts it between the section's markers).
func writeMeasured(out, measured string, splice func(report, measured string) string) {
	if out == "" {
		fmt.Print(measured)
		return
	}
	md, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		log.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(splice(string(md), measured)), 0o644); err != nil {
		log.Fatal(err)
	}
}
