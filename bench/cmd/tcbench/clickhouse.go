package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/bench/loadgen"
	"github.com/tracecomb/tracecomb/bench/workload"
)

// The ClickHouse scenario (-clickhouse): tracecomb on a clickhouse-server
// the harness starts for itself, on the workload of the main comparison.
//
//  1. Ingest: the same spans over OTLP/HTTP to one tracecomb node on an
//     empty database, then to two nodes on another empty database of the
//     same server (the batches dealt alternately to the nodes, each node
//     with its own exporters), timed until ClickHouse counts them all in
//     the events table (stored and queryable). The two nodes keep separate
//     state (each its own data directory and key registry, the same
//     bootstrap key, so the same environment): the state is not on the
//     ingest path. Beside them, the same spans to tracecomb on DuckDB.
//  2. At Spans stored: the two nodes go on loading the two-node database
//     through the same OTLP/HTTP path until it holds Spans; then trace by
//     id and a GROUP BY service.name with COUNT and P99(duration_ms)
//     through the Query Data API, on the first node.
//  3. Bytes per span: system.parts of each database (compressed bytes and
//     the parts' bytes on disk) and the database's directory, as loaded
//     and after OPTIMIZE … FINAL; the DuckDB store's data directory.

// chSizes size the ClickHouse scenario.
type chSizes struct {
	IngestSpans    int // spans of each ingest measurement
	Spans          int // spans stored before the queries
	Chunk          int // spans generated at a time while loading to Spans
	Lookups        int
	Queries        int
	Concurrency    int // exporters per node
	TracesPerBatch int
	DuckDB         bool
	Optimize       bool
}

// chIngest is one ingest measurement.
type chIngest struct {
	Label     string
	Nodes     int
	Spans     int64 // accepted and counted stored
	Seconds   float64
	SpansPS   float64
	CPUNodes  float64 // CPU s of the tracecomb processes
	CPUServer float64 // CPU s of clickhouse-server (0 for DuckDB)
	CPUGen    float64 // CPU s of the harness (load generator)
	Rejected  int64
	Errored   int64
	Pushbacks int64
	FirstErr  string
	CH        chEvents // the server's INSERT counters over the measurement
}

func (c chIngest) cores(cpu float64) float64 {
	if c.Seconds == 0 {
		return 0
	}
	return cpu / c.Seconds
}

// perCPU is spans per CPU second of tracecomb and clickhouse-server.
func (c chIngest) perCPU() float64 {
	if c.CPUNodes+c.CPUServer == 0 {
		return 0
	}
	return float64(c.Spans) / (c.CPUNodes + c.CPUServer)
}

// chBytes is one database's size.
type chBytes struct {
	Spans  int64
	Tables []tableBytes
	Dir    int64 // allocated bytes of the database's directory
}

func (b chBytes) sum(get func(tableBytes) int64) int64 {
	var n int64
	for _, t := range b.Tables {
		n += get(t)
	}
	return n
}

func (b chBytes) perSpan(n int64) float64 {
	if b.Spans == 0 {
		return 0
	}
	return float64(n) / float64(b.Spans)
}

// chReport is what the ClickHouse scenario measured.
type chReport struct {
	Sizes      chSizes
	Machine    machine
	Versions   map[string]string
	Started    time.Time
	Took       time.Duration
	LoadBefore string
	LoadAfter  string

	DuckDB          chIngest
	DuckDBDisk      int64 // allocated bytes of the data directory
	One, Two, Load  chIngest
	OneBytes        chBytes
	Stored          int64
	ByID            []float64 // ms
	ByIDFound       int
	Group           []float64 // ms
	GroupOK         int
	GroupNote       string
	GroupErr        string // the query that failed, if one did
	Bytes, BytesOpt chBytes
	OptimizeTook    time.Duration
}

// chQueryTimeout is the nodes' --query-timeout.
const chQueryTimeout = 5 * time.Minute

const (
	chDBOne = "tcbench_one"
	chDBTwo = "tcbench_two"
)

// startCHNode starts a tracecomb node on database db of ch.
func startCHNode(ctx context.Context, bin, dir string, ch *chServer, db string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A GROUP BY over 10M spans on two shared cores takes longer than
	// the default budget of a query (10 s).
	s, err := startTracecomb(ctx, bin, dir, "--store", "clickhouse", "--clickhouse-url", ch.url, "--clickhouse-database", db,
		"--query-timeout", chQueryTimeout.String())
	if err != nil {
		return nil, err
	}
	s.dataDir = ""
	s.stored = func(ctx context.Context) (int64, error) {
		return ch.count(ctx, "SELECT count() FROM "+db+".events")
	}
	return s, nil
}

// ingestNodes sends batches over OTLP/HTTP, dealt alternately to nodes,
// and times it until stored reports them all.
func ingestNodes(ctx context.Context, label string, nodes []*server, batches []workload.Batch, conc, retries int, ch *chServer, stored0 int64) (chIngest, error) {
	f := chIngest{Label: label, Nodes: len(nodes)}
	share := make([][]workload.Batch, len(nodes))
	for i, b := range batches {
		share[i%len(nodes)] = append(share[i%len(nodes)], b)
	}
	cpu := func() (nodesCPU, srv, gen float64) {
		for _, n := range nodes {
			nodesCPU += cpuSeconds(n.pid())
		}
		if ch != nil {
			srv = cpuSeconds(ch.pid())
		}
		return nodesCPU, srv, cpuSeconds(os.Getpid())
	}
	var e0 chEvents
	if ch != nil {
		var err error
		if e0, err = ch.events(ctx); err != nil {
			return f, err
		}
	}
	n0, s0, g0 := cpu()
	t0 := time.Now()
	results := make(chan loadgen.Result, len(nodes))
	for i, n := range nodes {
		go func() {
			exp := loadgen.NewHTTP(n.otlpHTTP, n.headers)
			defer exp.Close()
			results <- loadgen.Run(ctx, exp, share[i], loadgen.Config{Concurrency: conc, Tick: time.Second, MaxRetries: retries})
		}()
	}
	var accepted int64
	for range nodes {
		r := <-results
		accepted += r.Accepted
		f.Rejected += r.Rejected
		f.Errored += r.Errored
		f.Pushbacks += r.Pushbacks
		if r.FirstErr != nil && f.FirstErr == "" {
			f.FirstErr = r.FirstErr.Error()
		}
	}
	if _, err := waitStored(ctx, nodes[0], stored0+accepted, 10*time.Minute); err != nil {
		return f, err
	}
	f.Seconds = time.Since(t0).Seconds()
	n1, s1, g1 := cpu()
	f.Spans = accepted
	f.SpansPS = float64(accepted) / f.Seconds
	f.CPUNodes, f.CPUServer, f.CPUGen = n1-n0, s1-s0, g1-g0
	if ch != nil {
		e1, err := ch.events(ctx)
		if err != nil {
			return f, err
		}
		f.CH = e1.minus(e0)
	}
	if retries == 0 { // a measurement, not a chunk of the load
		log.Printf("%s: %.0f spans/s, %.1f s; CPU s: tracecomb %.1f, server %.1f, generator %.1f; %d INSERTs, %d delayed; pushbacks %d rejected %d errored %d %s",
			label, f.SpansPS, f.Seconds, f.CPUNodes, f.CPUServer, f.CPUGen, f.CH.Inserts, f.CH.Delayed, f.Pushbacks, f.Rejected, f.Errored, f.FirstErr)
	}
	return f, nil
}

func runClickHouse(ctx context.Context, bin string, sz chSizes) (*chReport, error) {
	rep := &chReport{Sizes: sz, Machine: readMachine(), Started: time.Now(), LoadBefore: loadavg(), Versions: versions(bin, "")}
	root, removeRoot, err := scenarioDir("", "tcbench-ch-")
	if err != nil {
		return nil, err
	}
	defer removeRoot()
	ch, err := startClickHouse(ctx, filepath.Join(root, "clickhouse"))
	if err != nil {
		return nil, err
	}
	defer ch.stop() //nolint:errcheck
	if v, err := ch.query(ctx, "SELECT version()"); err == nil {
		rep.Versions["clickhouse"] = strings.TrimSpace(v)
	}

	log.Printf("generating %d spans", sz.IngestSpans)
	g := workload.New(42)
	batches, samples, err := g.Batches(sz.IngestSpans, sz.TracesPerBatch)
	if err != nil {
		return nil, err
	}

	if sz.DuckDB {
		log.Printf("tracecomb on DuckDB: %d spans", sz.IngestSpans)
		dir := filepath.Join(root, "duckdb")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		s, err := startTracecomb(ctx, bin, dir)
		if err != nil {
			return nil, err
		}
		rep.DuckDB, err = ingestNodes(ctx, "DuckDB, one node", []*server{s}, batches, sz.Concurrency, 0, nil, 0)
		if err != nil {
			s.kill()
			return nil, err
		}
		if err := s.stop(); err != nil {
			return nil, err
		}
		rep.DuckDBDisk, _ = diskBytes(s.dataDir)
		cleanup(dir)
	}

	log.Printf("one node on ClickHouse: %d spans", sz.IngestSpans)
	one, err := startCHNode(ctx, bin, filepath.Join(root, "one"), ch, chDBOne)
	if err != nil {
		return nil, err
	}
	rep.One, err = ingestNodes(ctx, "ClickHouse, one node", []*server{one}, batches, sz.Concurrency, 0, ch, 0)
	if err != nil {
		one.kill()
		return nil, err
	}
	if err := one.stop(); err != nil {
		return nil, err
	}
	if rep.OneBytes, err = chSize(ctx, ch, chDBOne); err != nil {
		return nil, err
	}

	log.Printf("two nodes on ClickHouse: %d spans", sz.IngestSpans)
	var nodes []*server
	defer func() {
		for _, n := range nodes {
			n.kill()
		}
	}()
	for _, name := range []string{"two-a", "two-b"} {
		n, err := startCHNode(ctx, bin, filepath.Join(root, name), ch, chDBTwo)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	rep.Two, err = ingestNodes(ctx, "ClickHouse, two nodes", nodes, batches, sz.Concurrency, 0, ch, 0)
	if err != nil {
		return nil, err
	}
	batches = nil

	stored := rep.Two.Spans
	if int64(sz.Spans) > stored {
		log.Printf("loading to %d spans through both nodes", sz.Spans)
		rep.Load, samples, err = loadTo(ctx, nodes, ch, sz, stored, samples)
		if err != nil {
			return nil, err
		}
		stored += rep.Load.Spans
	}
	if rep.Stored, err = nodes[0].stored(ctx); err != nil {
		return nil, err
	}

	log.Printf("%d spans stored: %d lookups, %d group-by queries", rep.Stored, sz.Lookups, sz.Queries)
	cl := &http.Client{Timeout: 5 * time.Minute}
	for i := 0; i < sz.Lookups; i++ {
		smp := samples[i*len(samples)/sz.Lookups]
		start := time.Now()
		ok, err := getTrace(ctx, cl, nodes[0], smp.TraceIDHex())
		if err != nil {
			return nil, err
		}
		rep.ByID = append(rep.ByID, ms(time.Since(start)))
		if ok {
			rep.ByIDFound++
		}
	}
	spec := map[string]any{
		"breakdowns":   []string{"service.name"},
		"calculations": []map[string]any{{"op": "COUNT"}, {"op": "P99", "column": "duration_ms"}},
		"time_range":   7200,
	}
	for i := 0; i < sz.Queries; i++ {
		start := time.Now()
		rows, note, err := honeycombQuery(ctx, cl, nodes[0], spec)
		if err != nil {
			// Reported, not fatal: the load and the bytes are still worth having.
			rep.GroupErr = err.Error()
			log.Printf("group by service: %v", err)
			break
		}
		if note != "" {
			rep.GroupNote = note
			break
		}
		rep.Group = append(rep.Group, ms(time.Since(start)))
		if groupCountOK(rows, rep.Stored) {
			rep.GroupOK++
		} else if i == 0 {
			log.Printf("group by service: %d rows, counts %v", len(rows), rows)
		}
	}
	for _, n := range nodes {
		if err := n.stop(); err != nil {
			return nil, err
		}
	}
	nodes = nil

	log.Printf("trace by id p50 %.1f ms p99 %.1f ms, %d/%d found; group by p50 %.0f ms p99 %.0f ms, %d/%d correct",
		pct(rep.ByID, 50), pct(rep.ByID, 99), rep.ByIDFound, len(rep.ByID), pct(rep.Group, 50), pct(rep.Group, 99), rep.GroupOK, len(rep.Group))
	if rep.Bytes, err = chSize(ctx, ch, chDBTwo); err != nil {
		return nil, err
	}
	if sz.Optimize {
		log.Printf("OPTIMIZE TABLE … FINAL")
		t := time.Now()
		for _, tab := range []string{"events", "traces"} {
			if _, err := ch.query(ctx, "OPTIMIZE TABLE "+chDBTwo+"."+tab+" FINAL"); err != nil {
				return nil, err
			}
		}
		rep.OptimizeTook = time.Since(t)
		if rep.BytesOpt, err = chSize(ctx, ch, chDBTwo); err != nil {
			return nil, err
		}
	}
	rep.Took = time.Since(rep.Started)
	rep.LoadAfter = loadavg()
	return rep, nil
}

// loadTo sends new spans through nodes, generated a chunk at a time while
// the previous chunk is sent, until the database holds sz.Spans, and
// returns the samples with the new ones appended.
func loadTo(ctx context.Context, nodes []*server, ch *chServer, sz chSizes, stored int64, samples []workload.Sample) (chIngest, []workload.Sample, error) {
	type chunk struct {
		b   []workload.Batch
		s   []workload.Sample
		err error
	}
	chunks := make(chan chunk, 1)
	go func() {
		defer close(chunks)
		g := workload.New(43)
		for left := int64(sz.Spans) - stored; left > 0 && ctx.Err() == nil; {
			n := min(int64(sz.Chunk), left)
			b, s, err := g.Batches(int(n), sz.TracesPerBatch)
			chunks <- chunk{b, s, err}
			if err != nil {
				return
			}
			left -= sumSpans(b)
		}
	}()
	total := chIngest{Label: "ClickHouse, two nodes, loading", Nodes: len(nodes)}
	every := time.Now()
	for c := range chunks {
		if c.err != nil {
			return total, samples, c.err
		}
		f, err := ingestNodes(ctx, total.Label, nodes, c.b, sz.Concurrency, 100_000, ch, stored)
		if err != nil {
			return total, samples, err
		}
		stored += f.Spans
		samples = append(samples, c.s...)
		total.Spans += f.Spans
		total.Seconds += f.Seconds
		total.CPUNodes += f.CPUNodes
		total.CPUServer += f.CPUServer
		total.CPUGen += f.CPUGen
		total.Rejected += f.Rejected
		total.Errored += f.Errored
		total.Pushbacks += f.Pushbacks
		total.CH.Inserts += f.CH.Inserts
		total.CH.Delayed += f.CH.Delayed
		total.CH.DelayedMS += f.CH.DelayedMS
		total.CH.Rejected += f.CH.Rejected
		if total.FirstErr == "" {
			total.FirstErr = f.FirstErr
		}
		if time.Since(every) > 30*time.Second || stored >= int64(sz.Spans) {
			log.Printf("%d spans stored, %.0f spans/s over the load so far", stored, float64(total.Spans)/total.Seconds)
			every = time.Now()
		}
	}
	if ctx.Err() != nil {
		return total, samples, ctx.Err()
	}
	if total.Seconds > 0 {
		total.SpansPS = float64(total.Spans) / total.Seconds
	}
	return total, samples, nil
}

// groupCountOK checks a GROUP BY service.name answer: one row per service,
// COUNTs adding up to stored, a P99 on every row.
func groupCountOK(rows []map[string]any, stored int64) bool {
	if len(rows) != workload.Services {
		return false
	}
	var sum float64
	for _, r := range rows {
		c, ok := r["COUNT"].(float64)
		if !ok {
			return false
		}
		sum += c
		if _, ok := r["P99(duration_ms)"].(float64); !ok {
			return false
		}
	}
	return int64(sum) == stored
}

// chSize reads a database's parts and directory, once the parts that
// merges replaced are gone (up to 2 min), so the directory holds the
// active parts only.
func chSize(ctx context.Context, ch *chServer, db string) (chBytes, error) {
	var b chBytes
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		n, err := ch.count(ctx, "SELECT count() FROM system.parts WHERE NOT active AND database = '"+db+"'")
		if err != nil {
			return b, err
		}
		if n == 0 {
			break
		}
	}
	if b.Spans, err = ch.count(ctx, "SELECT count() FROM "+db+".events"); err != nil {
		return b, err
	}
	if b.Tables, err = ch.parts(ctx, db); err != nil {
		return b, err
	}
	b.Dir, _ = diskBytes(ch.dataDir(db))
	return b, nil
}

// chMarkdown is the measured part of the report's ClickHouse section,
// between chBegin and chEnd.
func chMarkdown(r *chReport, cmd string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s\n", chBegin)
	w("Written by `%s` on %s; the run took %s.\n\n", cmd, r.Started.UTC().Format("2006-01-02 15:04 UTC"), fmtDur(r.Took.Round(time.Second)))
	w("Machine: %d × %s, %.1f GiB, kernel %s; load average (1, 5, 15 min) before the run %s, after %s. "+
		"clickhouse-server %s, every tracecomb node and the load generator ran on these %d cores.\n\n",
		r.Machine.CPUs, r.Machine.Model, r.Machine.MemGiB, r.Machine.Kernel, r.LoadBefore, r.LoadAfter,
		r.Versions["clickhouse"], r.Machine.CPUs)
	w("tracecomb %s. Workload as above (10-span traces, 11 attributes a span, OTLP/HTTP protobuf bodies of %d traces), "+
		"%d exporters per node.\n\n", r.Versions["tracecomb"], r.Sizes.TracesPerBatch, r.Sizes.Concurrency)

	w("### Ingest until stored (%d spans each)\n\n", r.Sizes.IngestSpans)
	w("Spans/s from the first request until the store counts them all (ClickHouse: `count()` of the events table, so " +
		"they are queryable; DuckDB: `tracecomb_events_stored_total`). CPU: user+system seconds of each process over the " +
		"same time; cores = CPU s / wall s.\n\n")
	w("| setup | spans/s | wall s | tracecomb CPU s (cores) | clickhouse-server CPU s (cores) | load generator CPU s (cores) | spans per CPU s of tracecomb + server | pushbacks | rejected | errored |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	rows := []chIngest{r.One, r.Two}
	if r.Sizes.DuckDB {
		rows = append(rows, r.DuckDB)
	}
	for _, f := range rows {
		srv := "n/a"
		if f.CPUServer > 0 {
			srv = fmt.Sprintf("%.1f (%.2f)", f.CPUServer, f.cores(f.CPUServer))
		}
		w("| %s | %.0f | %.1f | %.1f (%.2f) | %s | %.1f (%.2f) | %.0f | %d | %d | %d |\n", f.Label, f.SpansPS, f.Seconds,
			f.CPUNodes, f.cores(f.CPUNodes), srv, f.CPUGen, f.cores(f.CPUGen), f.perCPU(), f.Pushbacks, f.Rejected, f.Errored)
	}
	w("\nClickHouse's own counters over the same time (system.events): INSERT statements (tracecomb sends the events " +
		"of one group commit in one INSERT, plus catalog rows), and INSERTs the server delayed or refused because a " +
		"partition had too many parts for the merges to keep up (parts_to_delay_insert, parts_to_throw_insert).\n\n")
	w("| setup | INSERTs | spans per INSERT | delayed INSERTs | delay total s | refused INSERTs |\n|---|---:|---:|---:|---:|---:|\n")
	for _, f := range append([]chIngest{r.One, r.Two}, r.Load) {
		if f.CH.Inserts == 0 {
			continue
		}
		w("| %s | %d | %.0f | %d | %.1f | %d |\n", f.Label, f.CH.Inserts, float64(f.Spans)/float64(f.CH.Inserts), f.CH.Delayed, float64(f.CH.DelayedMS)/1000, f.CH.Rejected)
	}
	if r.One.SpansPS > 0 {
		w("\nTwo nodes / one node: **%.2f×** (the target for two nodes is ≥ 1.8×).\n", r.Two.SpansPS/r.One.SpansPS)
	}
	for _, f := range rows {
		if f.FirstErr != "" {
			w("\n%s: first error: `%s`\n", f.Label, f.FirstErr)
		}
	}

	w("\n### At %d spans stored\n\n", r.Stored)
	if r.Load.Spans > 0 {
		w("Loaded through the OTLP/HTTP door of both nodes, %d spans after the two-node measurement, generated %d at a time "+
			"while the previous ones were sent: %.0f spans/s over %s (tracecomb %.2f cores, clickhouse-server %.2f, load "+
			"generator %.2f, including generating; %.0f spans per CPU s of tracecomb + server); %d pushbacks, %d rejected, %d errored.\n\n",
			r.Load.Spans, r.Sizes.Chunk, r.Load.SpansPS, fmtDur(time.Duration(r.Load.Seconds*float64(time.Second)).Round(time.Second)),
			r.Load.cores(r.Load.CPUNodes), r.Load.cores(r.Load.CPUServer), r.Load.cores(r.Load.CPUGen), r.Load.perCPU(),
			r.Load.Pushbacks, r.Load.Rejected, r.Load.Errored)
	}
	w("The nodes run with `--query-timeout %s`.\n\n", fmtDur(chQueryTimeout))
	w("| query (on the first node, one at a time, right after the load) | n | p50 ms | p99 ms | correct |\n|---|---:|---:|---:|---:|\n")
	w("| trace by id, `GET /api/traces/{id}` | %d | %.1f | %.1f | %d found with its 10 spans |\n", len(r.ByID), pct(r.ByID, 50), pct(r.ByID, 99), r.ByIDFound)
	if r.GroupErr != "" {
		w("| GROUP BY service.name, COUNT, P99(duration_ms) over 2 h, Query Data API | %d | | | failed: `%.300s` |\n", len(r.Group), r.GroupErr)
	} else if r.GroupNote != "" {
		w("| GROUP BY service.name, COUNT, P99(duration_ms) | 0 | | | %s |\n", r.GroupNote)
	} else {
		w("| GROUP BY service.name, COUNT, P99(duration_ms) over 2 h, Query Data API (create query, create result, poll) | %d | %.0f | %.0f | %d with 10 groups whose COUNTs add up to every stored span |\n",
			len(r.Group), pct(r.Group, 50), pct(r.Group, 99), r.GroupOK)
	}

	w("\n### Bytes per span\n\n")
	w("ClickHouse: the active parts of the database's tables in `system.parts` (compressed column data; the parts' " +
		"files, `bytes_on_disk`) and the database's directory under the server's data path (allocated blocks, du), " +
		"each divided by the spans in the events table. DuckDB: the data directory after a clean shutdown (allocated).\n\n")
	w("| store, spans | compressed column data B/span | parts on disk B/span | directory B/span | uncompressed B/span |\n|---|---:|---:|---:|---:|\n")
	chRow := func(label string, x chBytes) {
		if x.Spans == 0 {
			return
		}
		w("| %s, %d | %.1f | %.1f | %.1f | %.1f |\n", label, x.Spans,
			x.perSpan(x.sum(func(t tableBytes) int64 { return t.Compressed })),
			x.perSpan(x.sum(func(t tableBytes) int64 { return t.OnDisk })),
			x.perSpan(x.Dir),
			x.perSpan(x.sum(func(t tableBytes) int64 { return t.Uncompressed })))
	}
	chRow("ClickHouse, one node, as loaded", r.OneBytes)
	chRow("ClickHouse, two nodes, as loaded", r.Bytes)
	if r.Sizes.Optimize {
		chRow(fmt.Sprintf("ClickHouse, two nodes, after OPTIMIZE … FINAL (%s)", fmtDur(r.OptimizeTook.Round(100*time.Millisecond))), r.BytesOpt)
	}
	if r.Sizes.DuckDB && r.DuckDB.Spans > 0 {
		w("| DuckDB, %d | | | %.1f | |\n", r.DuckDB.Spans, float64(r.DuckDBDisk)/float64(r.DuckDB.Spans))
	}
	last := r.Bytes
	if r.Sizes.Optimize {
		last = r.BytesOpt
	}
	if len(last.Tables) > 0 {
		w("\nBy table (%d spans, last row above):\n\n| table | rows | parts | compressed bytes | B/span |\n|---|---:|---:|---:|---:|\n", last.Spans)
		for _, t := range last.Tables {
			w("| %s | %d | %d | %d | %.1f |\n", t.Table, t.Rows, t.Parts, t.Compressed, last.perSpan(t.Compressed))
		}
	}
	w("%s\n", chEnd)
	return b.String()
}

// The report's ClickHouse section starts with chHeading, which ends as the
// hand-kept sections' headings do, so a full run carries the section over.
// Its text is kept by hand; -clickhouse -out replaces only what lies
// between chBegin and chEnd.
const (
	chHeading = "## ClickHouse store: one and two nodes, 10M spans (tracecomb only)"
	chBegin   = "<!-- measured by tcbench -clickhouse: begin -->"
	chEnd     = "<!-- measured by tcbench -clickhouse: end -->"
)

// spliceClickHouse puts measured into md: in place of what lies between
// chBegin and chEnd of the ClickHouse section, or in a new section before
// the Retention section (or Goals, or at the end) when md has none.
func spliceClickHouse(md, measured string) string {
	return spliceMeasured(md, chHeading, chBegin, chEnd, measured)
}

// spliceMeasured puts measured into md: in place of what lies between
// begin and end of the section headed heading, after the section's text
// when it has no such part, or in a new section before the Retention
// section (or Goals, or at the end) when md has no such section.
func spliceMeasured(md, heading, begin, end, measured string) string {
	if i := strings.Index(md, heading); i >= 0 {
		sec := md[i:]
		if j := strings.Index(sec[len(heading):], "\n## "); j >= 0 {
			sec = sec[:len(heading)+j+1]
		}
		if a := strings.Index(sec, begin); a >= 0 {
			if e := strings.Index(sec[a:], end); e >= 0 {
				stop := a + e + len(end)
				if stop < len(sec) && sec[stop] == '\n' {
					stop++
				}
				return md[:i] + sec[:a] + measured + sec[stop:] + md[i+len(sec):]
			}
		}
		return md[:i] + strings.TrimRight(sec, "\n") + "\n\n" + measured + "\n" + md[i+len(sec):]
	}
	section := heading + "\n\n" + measured + "\n"
	for _, anchor := range []string{"\n" + retentionHeading, "\n## Goals"} {
		if i := strings.Index(md, anchor); i >= 0 {
			return md[:i+1] + section + md[i+1:]
		}
	}
	return strings.TrimRight(md, "\n") + "\n\n" + section
}
