package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tracecomb/tracecomb/bench/workload"
	"github.com/tracecomb/tracecomb/internal/ingest/otlp"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// The scale scenario (-scale): one tracecomb node on the DuckDB store
// holding Spans spans of the harness's workload.
//
//  1. Bulk load: the harness opens the store file of a new data directory
//     itself (package duckdb, the same code tracecomb runs) and calls
//     Store.Write with WriteEvents events at a time, the workload's traces
//     converted to events by the OTLP door's own conversion (otlp.Convert),
//     generated while the previous Write runs. Trace start times are spread
//     evenly over Window, ending when the load starts. Nothing goes through
//     the OTLP door or its batcher: the load rate is the store's bulk path,
//     generation included. Then the store is closed (checkpointed).
//  2. Queries: the tracecomb binary starts on that data directory; through
//     its HTTP API, one at a time: traces by id (GET /api/traces/{id}) of
//     trace ids drawn at random from all loaded traces, searches for a
//     service and an attribute value (the Query Data API, as the main
//     comparison's search), and a GROUP BY service.name with COUNT and
//     P99(duration_ms) over the whole time range.
//  3. Bytes per span: the data directory after the node stopped.

// scaleSizes size the scale scenario.
type scaleSizes struct {
	Spans       int
	WriteEvents int           // events per Store.Write
	Window      time.Duration // trace start times spread over this, ending when the load starts
	Lookups     int
	Searches    int
	Queries     int
	MaxLoad     time.Duration // stop loading after this long (0: no limit); the queries run on what was loaded
	MemoryLimit string        // DuckDB memory_limit of the loader and the node ("" keeps tracecomb's default)
	Samples     int           // traces kept at random (a reservoir) for the lookups and searches
	Dir         string        // parent of the run's directory ("" is the system's temporary directory)
}

// scaleEnv is the environment tracecomb's --bootstrap-key opens, where the
// bulk load writes.
const scaleEnv = "test"

// scaleQueryTimeout is the node's --query-timeout: a query slower than the
// default budget (10 s) is measured, not cut off.
const scaleQueryTimeout = 5 * time.Minute

// scaleQueryBudget bounds the time of each kind of query (by id, search,
// GROUP BY): past it no more of that kind start.
const scaleQueryBudget = 5 * time.Minute

// scaleBytesPerSpan is what the free-space check assumes a span takes,
// with room above the ~96 measured.
const scaleBytesPerSpan = 130

// loadFigures are what the bulk load measured.
type loadFigures struct {
	Spans        int64 // written (the store refused none)
	Stopped      bool  // the load stopped at MaxLoad, before Spans of the sizes
	Writes       int
	Seconds      float64 // wall, from opening the store to its close
	WriteSeconds float64 // inside Store.Write
	CloseSeconds float64
	CPU          float64 // CPU s of the harness process (generator and store) over the load
	PeakRSSMB    float64 // the harness process's peak RSS at the end of the load
	Bytes        int64   // allocated bytes of the data directory after the close
}

func (l loadFigures) spansPS() float64 {
	if l.Seconds == 0 {
		return 0
	}
	return float64(l.Spans) / l.Seconds
}

func (l loadFigures) writeSpansPS() float64 {
	if l.WriteSeconds == 0 {
		return 0
	}
	return float64(l.Spans) / l.WriteSeconds
}

// scaleReport is what the scale scenario measured.
type scaleReport struct {
	Sizes      scaleSizes
	Machine    machine
	Versions   map[string]string
	Started    time.Time
	Took       time.Duration
	LoadBefore string
	LoadAfter  string
	FreeBefore int64 // free bytes of the file system before the load

	Load         loadFigures
	StartSeconds float64   // the node's start on the loaded directory, until /healthz answers
	From, To     time.Time // the queries' start_time and end_time: every loaded span
	ByID         []float64
	ByIDFound    int
	Search       []float64
	SearchFound  int
	SearchNote   string
	Group        []float64
	GroupOK      int
	GroupErr     string
	NodeRSSMB    float64
	DiskBytes    int64 // allocated bytes of the data directory after the node stopped
}

// reservoir keeps n items drawn uniformly at random from a stream.
type reservoir struct {
	n    int
	seen int
	rng  *rand.Rand
	keep []workload.Sample
}

func newReservoir(n int, seed uint64) *reservoir {
	return &reservoir{n: n, rng: rand.New(rand.NewPCG(seed, seed+1))}
}

func (r *reservoir) add(s workload.Sample) {
	r.seen++
	if len(r.keep) < r.n {
		r.keep = append(r.keep, s)
		return
	}
	if i := r.rng.IntN(r.seen); i < r.n {
		r.keep[i] = s
	}
}

// bulkLoad writes sz.Spans spans of the workload into a new DuckDB store at
// path, sz.WriteEvents events per Write, the trace start times spread over
// sz.Window ending at start, and returns the load's figures and a random
// sample of the traces written (one candidate per 50 traces). With
// sz.MaxLoad it stops after the first Write past that time.
func bulkLoad(ctx context.Context, path string, sz scaleSizes, start time.Time, logger *slog.Logger) (loadFigures, []workload.Sample, error) {
	var f loadFigures
	cpu0 := cpuSeconds(os.Getpid())
	t0 := time.Now()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: path, MemoryLimit: sz.MemoryLimit}, logger)
	if err != nil {
		return f, nil, err
	}
	closed := false
	defer func() {
		if !closed {
			st.Close()
		}
	}()

	type chunk struct {
		events  []model.Event
		samples []workload.Sample
		err     error
	}
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 1)
	res := newReservoir(sz.Samples, 11)
	go func() {
		defer close(chunks)
		g := workload.New(42)
		traces := max(1, (sz.Spans+workload.SpansPerTrace-1)/workload.SpansPerTrace)
		g.StartEvery(start.Add(-sz.Window), sz.Window/time.Duration(traces))
		const tracesPerRequest = 50 // as the other scenarios' OTLP requests
		for left := sz.Spans; left > 0; {
			evs := make([]model.Event, 0, min(sz.WriteEvents, left)+tracesPerRequest*workload.SpansPerTrace)
			var smps []workload.Sample
			for len(evs) < sz.WriteEvents && left > 0 {
				n := min(tracesPerRequest, (left+workload.SpansPerTrace-1)/workload.SpansPerTrace)
				req, smp := g.Traces(n)
				r, err := otlp.Convert(req, otlp.RequestInfo{})
				if err == nil && (r.Rejected > 0 || len(r.Events) != n*workload.SpansPerTrace) {
					err = fmt.Errorf("%d traces converted to %d events, %d spans rejected: %s", n, len(r.Events), r.Rejected, r.RejectMessage)
				}
				if err != nil {
					select {
					case chunks <- chunk{err: err}:
					case <-gctx.Done():
					}
					return
				}
				evs = append(evs, r.Events...)
				smps = append(smps, smp)
				left -= n * workload.SpansPerTrace
			}
			select {
			case chunks <- chunk{events: evs, samples: smps}:
			case <-gctx.Done():
				return
			}
		}
	}()

	var write time.Duration
	every := time.Now()
	for c := range chunks {
		if c.err != nil {
			return f, nil, c.err
		}
		b := []store.Batch{{Env: scaleEnv, Events: c.events}}
		t := time.Now()
		if err := st.Write(ctx, b); err != nil {
			return f, nil, fmt.Errorf("write %d after %d spans: %w", f.Writes+1, f.Spans, err)
		}
		write += time.Since(t)
		if len(b[0].Refused) > 0 {
			return f, nil, fmt.Errorf("write %d: the store refused %d events, first: %v", f.Writes+1, len(b[0].Refused), b[0].Refused[0].Err)
		}
		f.Writes++
		f.Spans += int64(len(c.events))
		for _, smp := range c.samples {
			res.add(smp)
		}
		if sz.MaxLoad > 0 && time.Since(t0) > sz.MaxLoad && f.Spans < int64(sz.Spans) {
			log.Printf("scale: stopping the load after %s at %d of %d spans", sz.MaxLoad, f.Spans, sz.Spans)
			f.Stopped = true
			cancel()
			break
		}
		if time.Since(every) > 30*time.Second {
			el := time.Since(t0).Seconds()
			log.Printf("scale: %d spans written, %.0f spans/s so far (%.0f inside Write)", f.Spans, float64(f.Spans)/el, float64(f.Spans)/write.Seconds())
			every = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return f, nil, err
	}
	t := time.Now()
	closed = true
	if err := st.Close(); err != nil {
		return f, nil, fmt.Errorf("close: %w", err)
	}
	f.CloseSeconds = time.Since(t).Seconds()
	f.Seconds = time.Since(t0).Seconds()
	f.WriteSeconds = write.Seconds()
	f.CPU = cpuSeconds(os.Getpid()) - cpu0
	f.PeakRSSMB = float64(statusKB(os.Getpid(), "VmHWM")) / 1024
	f.Bytes, _ = diskBytes(filepath.Dir(path))
	return f, res.keep, nil
}

// freeBytes is the space available to this user in dir's file system.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// searchSpec is the search of the main comparison (a service and one of
// its attribute values, the traces' ids) from from to to.
func searchSpec(smp workload.Sample, from, to time.Time) map[string]any {
	return map[string]any{
		"breakdowns":   []string{"trace.trace_id"},
		"calculations": []map[string]any{{"op": "COUNT"}},
		"filters": []map[string]any{
			{"column": "service.name", "op": "=", "value": smp.Service},
			{"column": smp.Key, "op": "=", "value": smp.Value},
		},
		"start_time": from.Unix(),
		"end_time":   to.Unix(),
		"limit":      20,
	}
}

// groupSpec is the GROUP BY service.name with COUNT and P99(duration_ms)
// from from to to.
func groupSpec(from, to time.Time) map[string]any {
	return map[string]any{
		"breakdowns":   []string{"service.name"},
		"calculations": []map[string]any{{"op": "COUNT"}, {"op": "P99", "column": "duration_ms"}},
		"start_time":   from.Unix(),
		"end_time":     to.Unix(),
	}
}

func runScale(ctx context.Context, bin string, sz scaleSizes) (*scaleReport, error) {
	rep := &scaleReport{Sizes: sz, Machine: readMachine(), Started: time.Now(), LoadBefore: loadavg(), Versions: versions(bin, "")}
	root, removeRoot, err := scenarioDir(sz.Dir, "tcbench-scale-")
	if err != nil {
		return nil, err
	}
	defer removeRoot()
	if rep.FreeBefore, err = freeBytes(root); err != nil {
		return nil, err
	}
	if need := int64(sz.Spans)*scaleBytesPerSpan + 1<<30; rep.FreeBefore < need {
		return nil, fmt.Errorf("%s has %d MB free; %d spans need about %d MB", root, rep.FreeBefore>>20, sz.Spans, need>>20)
	}
	dataDir := filepath.Join(root, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	log.Printf("scale: bulk-loading %d spans into %s, %d events per Write (%d MB free)", sz.Spans, dataDir, sz.WriteEvents, rep.FreeBefore>>20)
	start := time.Now()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var samples []workload.Sample
	rep.Load, samples, err = bulkLoad(ctx, filepath.Join(dataDir, "tracecomb.duckdb"), sz, start, logger)
	if err != nil {
		return nil, err
	}
	log.Printf("scale: %d spans in %d Writes, %.0f spans/s (%.0f inside Write), %.1f B/span in the store file's directory",
		rep.Load.Spans, rep.Load.Writes, rep.Load.spansPS(), rep.Load.writeSpansPS(), float64(rep.Load.Bytes)/float64(rep.Load.Spans))

	extra := []string{"--query-timeout", scaleQueryTimeout.String()}
	if sz.MemoryLimit != "" {
		extra = append(extra, "--store-memory-limit", sz.MemoryLimit)
	}
	t := time.Now()
	s, err := startTracecomb(ctx, bin, root, extra...)
	if err != nil {
		return nil, err
	}
	rep.StartSeconds = time.Since(t).Seconds()
	defer func() {
		if s != nil {
			s.kill()
		}
	}()
	// Every loaded span: from the oldest trace start, a minute either side.
	rep.From, rep.To = start.Add(-sz.Window-time.Minute).Truncate(time.Second), time.Now().Add(time.Minute).Truncate(time.Second)

	cl := &http.Client{Timeout: scaleQueryTimeout + time.Minute}
	rng := rand.New(rand.NewPCG(5, 6))
	log.Printf("scale: %d lookups, %d searches, %d group-by queries", sz.Lookups, sz.Searches, sz.Queries)
	phase := time.Now()
	for i := range sz.Lookups {
		if i > 0 && time.Since(phase) > scaleQueryBudget {
			log.Printf("scale: lookups stopped after %s, %d done", scaleQueryBudget, i)
			break
		}
		smp := samples[rng.IntN(len(samples))]
		t := time.Now()
		ok, err := getTrace(ctx, cl, s, smp.TraceIDHex())
		if err != nil {
			return nil, err
		}
		rep.ByID = append(rep.ByID, ms(time.Since(t)))
		if ok {
			rep.ByIDFound++
		}
	}
	phase = time.Now()
	for i := range sz.Searches {
		if i > 0 && time.Since(phase) > scaleQueryBudget {
			log.Printf("scale: searches stopped after %s, %d done", scaleQueryBudget, i)
			break
		}
		smp := samples[rng.IntN(len(samples))]
		t := time.Now()
		rows, note, err := honeycombQuery(ctx, cl, s, searchSpec(smp, rep.From, rep.To))
		if err != nil {
			return nil, err
		}
		if note != "" {
			rep.SearchNote = note
			break
		}
		rep.Search = append(rep.Search, ms(time.Since(t)))
		if len(rows) > 0 {
			rep.SearchFound++
		}
	}
	phase = time.Now()
	for i := range sz.Queries {
		if i > 0 && time.Since(phase) > scaleQueryBudget {
			log.Printf("scale: group-by queries stopped after %s, %d done", scaleQueryBudget, i)
			break
		}
		t := time.Now()
		rows, note, err := honeycombQuery(ctx, cl, s, groupSpec(rep.From, rep.To))
		if err == nil && note != "" {
			err = errors.New(note)
		}
		if err != nil {
			// Reported, not fatal: the load and the other figures stand.
			rep.GroupErr = err.Error()
			log.Printf("scale: group by service: %v", err)
			break
		}
		rep.Group = append(rep.Group, ms(time.Since(t)))
		if groupCountOK(rows, rep.Load.Spans) {
			rep.GroupOK++
		} else if i == 0 {
			log.Printf("scale: group by service: %d rows, %v", len(rows), rows)
		}
	}
	rep.NodeRSSMB = float64(statusKB(s.pid(), "VmHWM")) / 1024
	err = s.stop()
	s = nil
	if err != nil {
		return nil, err
	}
	rep.DiskBytes, _ = diskBytes(dataDir)
	log.Printf("scale: by id p50 %.1f ms p99 %.1f ms (%d/%d found); search p50 %.1f ms p99 %.1f ms (%d/%d found); group by p50 %.0f ms p99 %.0f ms (%d/%d correct); %.1f B/span",
		pct(rep.ByID, 50), pct(rep.ByID, 99), rep.ByIDFound, len(rep.ByID), pct(rep.Search, 50), pct(rep.Search, 99), rep.SearchFound, len(rep.Search),
		pct(rep.Group, 50), pct(rep.Group, 99), rep.GroupOK, len(rep.Group), float64(rep.DiskBytes)/float64(rep.Load.Spans))
	rep.Took = time.Since(rep.Started)
	rep.LoadAfter = loadavg()
	return rep, nil
}

// The report's scale section starts with scaleHeading, which ends as the
// hand-kept sections' headings do, so a full run carries the section over.
// Its text is kept by hand; -scale -out replaces only what lies between
// scaleBegin and scaleEnd.
const (
	scaleHeading = "## Scale: one node on DuckDB, bulk-loaded to 100M spans (tracecomb only)"
	scaleBegin   = "<!-- measured by tcbench -scale: begin -->"
	scaleEnd     = "<!-- measured by tcbench -scale: end -->"
)

// Targets of the scale scenario's queries, in ms.
const (
	scaleGroupTarget  = 1000
	scaleByIDTarget   = 10
	scaleSearchTarget = 200
)

// scaleMarkdown is the measured part of the report's scale section,
// between scaleBegin and scaleEnd.
func scaleMarkdown(r *scaleReport, cmd string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	per := func(n int64) float64 {
		if r.Load.Spans == 0 {
			return 0
		}
		return float64(n) / float64(r.Load.Spans)
	}
	w("%s\n", scaleBegin)
	w("Written by `%s` on %s; the run took %s.\n\n", cmd, r.Started.UTC().Format("2006-01-02 15:04 UTC"), fmtDur(r.Took.Round(time.Second)))
	w("Machine: %d × %s, %.1f GiB, kernel %s; load average (1, 5, 15 min) before the run %s, after %s. The loader and then the node ran on these cores.\n\n",
		r.Machine.CPUs, r.Machine.Model, r.Machine.MemGiB, r.Machine.Kernel, r.LoadBefore, r.LoadAfter)
	mem := r.Sizes.MemoryLimit
	if mem == "" {
		mem = "tracecomb's default"
	}
	w("tracecomb %s. **%d spans** (%d traces of 10 spans), trace start times spread evenly over the %s before the load; "+
		"bulk-loaded through the DuckDB store's `Store.Write` (not through the OTLP door), %d events per Write, DuckDB memory limit %s for the loader and the node.\n\n",
		r.Versions["tracecomb"], r.Load.Spans, r.Load.Spans/workload.SpansPerTrace, fmtDur(r.Sizes.Window), r.Sizes.WriteEvents, mem)

	if r.Load.Stopped {
		w("The load stopped after `-scale-max-load %s`, at %d of the %d spans asked for (so the traces' start times cover the first %.0f%% of the window).\n\n",
			fmtDur(r.Sizes.MaxLoad), r.Load.Spans, r.Sizes.Spans, 100*float64(r.Load.Spans)/float64(r.Sizes.Spans))
	}
	w("| load | figure |\n|---|---:|\n")
	w("| spans/s, from opening the store to its close (generating and converting included) | **%.0f** |\n", r.Load.spansPS())
	w("| spans/s inside `Store.Write` | %.0f |\n", r.Load.writeSpansPS())
	w("| wall time | %s (%d Writes, close %.1f s) |\n", fmtDur(time.Duration(r.Load.Seconds*float64(time.Second)).Round(time.Second)), r.Load.Writes, r.Load.CloseSeconds)
	if r.Load.Seconds > 0 {
		w("| CPU s of the loader process (generator and store) | %.0f (%.2f cores) |\n", r.Load.CPU, r.Load.CPU/r.Load.Seconds)
	}
	w("| peak RSS of the loader process | %.0f MB |\n", r.Load.PeakRSSMB)
	w("| data directory after the load | %.2f GB, %.1f B/span |\n", float64(r.Load.Bytes)/1e9, per(r.Load.Bytes))
	w("| data directory after the node stopped | %.2f GB, **%.1f B/span** |\n", float64(r.DiskBytes)/1e9, per(r.DiskBytes))
	w("\nThe node (`tracecomb serve` on that data directory, `--query-timeout %s`) answered `/healthz` %.1f s after it was started; "+
		"its peak RSS over the queries was %.0f MB. Queries through its HTTP API, one at a time (no new query of a kind after %s of that kind, so n may be below what was asked), from %s to %s (every loaded span, %s):\n\n",
		fmtDur(scaleQueryTimeout), r.StartSeconds, r.NodeRSSMB, fmtDur(scaleQueryBudget), r.From.UTC().Format("2006-01-02 15:04:05"), r.To.UTC().Format("15:04:05 UTC"), fmtDur(r.To.Sub(r.From)))

	w("| query at %d spans | n | p50 ms | p99 ms | target | met (p99) | correct |\n|---|---:|---:|---:|---:|:---:|---|\n", r.Load.Spans)
	met := func(xs []float64, target float64) string {
		if len(xs) == 0 {
			return ""
		}
		if pct(xs, 99) <= target {
			return "yes"
		}
		return "no"
	}
	if r.GroupErr != "" {
		w("| GROUP BY service.name, COUNT, P99(duration_ms), Query Data API | %d | | | ≤ %d ms | no | failed: `%.300s` |\n", len(r.Group), scaleGroupTarget, r.GroupErr)
	} else {
		w("| GROUP BY service.name, COUNT, P99(duration_ms), Query Data API (create query, create result, poll) | %d | %.0f | %.0f | ≤ %d ms | %s | %d with 10 groups whose COUNTs add up to every loaded span |\n",
			len(r.Group), pct(r.Group, 50), pct(r.Group, 99), scaleGroupTarget, met(r.Group, scaleGroupTarget), r.GroupOK)
	}
	w("| trace by id, `GET /api/traces/{id}`, ids drawn at random from all loaded traces | %d | %.1f | %.1f | ≤ %d ms | %s | %d found with their 10 spans |\n",
		len(r.ByID), pct(r.ByID, 50), pct(r.ByID, 99), scaleByIDTarget, met(r.ByID, scaleByIDTarget), r.ByIDFound)
	if r.SearchNote != "" {
		w("| search: service.name and an attribute value, trace ids | 0 | | | ≤ %d ms | | %s |\n", scaleSearchTarget, r.SearchNote)
	} else {
		w("| search: service.name = a service, an attribute = a value, trace ids (limit 20), Query Data API | %d | %.1f | %.1f | ≤ %d ms | %s | %d with traces |\n",
			len(r.Search), pct(r.Search, 50), pct(r.Search, 99), scaleSearchTarget, met(r.Search, scaleSearchTarget), r.SearchFound)
	}
	w("%s\n", scaleEnd)
	return b.String()
}

// spliceScale puts measured into md in place of what lies between
// scaleBegin and scaleEnd of the scale section, or in a new section when
// md has none.
func spliceScale(md, measured string) string {
	return spliceMeasured(md, scaleHeading, scaleBegin, scaleEnd, measured)
}

// scenarioDir makes a scenario's working directory under parent (the
// system's temporary directory when ""); remove removes it, unless -keep,
// which logs where it is kept.
func scenarioDir(parent, prefix string) (root string, remove func(), err error) {
	root, err = os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", nil, err
	}
	if keepDirs {
		log.Printf("kept %s", root)
		return root, func() {}, nil
	}
	return root, func() { os.RemoveAll(root) }, nil
}
