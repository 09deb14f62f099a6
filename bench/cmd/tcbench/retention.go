package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracecomb/tracecomb/bench/loadgen"
	"github.com/tracecomb/tracecomb/bench/workload"
)

// The retention scenario (tracecomb only): (i) an hour of spans sent
// quickly to a tracecomb with an age limit, and what is left after
// retention ran; (ii) a sustained stream of spans to a tracecomb with a
// size limit, and the data directory's size over time against it.

// retentionSizes configures the scenario.
type retentionSizes struct {
	AgeSpans  int           // spans of (i)
	AgeWindow time.Duration // event times of (i) spread over it, ending now
	MaxAge    time.Duration // --retention-age of (i)
	MaxBytes  int64         // --retention-size of (ii)
	Hold      time.Duration // (ii) goes on this long after retention first deleted
	MaxRun    time.Duration // (ii) stops after this long in any case
	Sample    time.Duration // (ii) samples the data directory this often
}

// ageFigures are what (i) measured.
type ageFigures struct {
	Spans          int64         // sent and stored
	SendTook       time.Duration // until every span was stored
	PassAfter      time.Duration // from the last stored span to the end of the retention pass measured
	OldestAge      time.Duration // age of the oldest kept event at that pass
	Kept           int64         // COUNT over the last two hours after the pass (Query Data API)
	Expected       int64         // spans whose event time was within MaxAge of the pass
	Deleted        int64         // tracecomb_store_retention_deleted_events_total
	DirBefore      int64         // data directory (apparent bytes) once every span was stored
	DirAfter       int64         // and after the pass
	FileBefore     int64         // the DuckDB file, likewise
	FileAfter      int64
	WALBefore      int64 // its WAL, likewise
	WALAfter       int64
	Compactions    int64
	GeneratedUntil time.Time // newest event time
}

// sizeSample is one look at the data directory during (ii).
type sizeSample struct {
	At       time.Duration // since the stream started
	Accepted int64         // spans accepted so far
	Dir      int64         // data directory, apparent bytes
	DirAlloc int64         // allocated (du)
	File     int64         // tracecomb.duckdb
	WAL      int64         // tracecomb.duckdb.wal
}

// sizeFigures are what (ii) measured.
type sizeFigures struct {
	Samples   []sizeSample
	Reached   time.Duration // when retention first deleted events (0: never)
	Accepted  int64
	Took      time.Duration
	Deleted   int64
	Pushbacks int64
	Errored   int64
	FirstErr  string
}

type retentionReport struct {
	Sizes retentionSizes
	Age   ageFigures
	Size  sizeFigures
	// Run: when it started and took, tracecomb's version, this machine,
	// the load average before and after.
	Started               time.Time
	Took                  time.Duration
	Version               string
	Machine               machine
	LoadBefore, LoadAfter string
}

func runRetention(ctx context.Context, bin string, rs retentionSizes, conc, tracesPerBatch int) (*retentionReport, error) {
	rep := &retentionReport{Sizes: rs, Started: time.Now(), Version: versions(bin, "")["tracecomb"], Machine: readMachine(), LoadBefore: loadavg()}
	defer func() { rep.Took, rep.LoadAfter = time.Since(rep.Started), loadavg() }()
	var err error
	log.Printf("retention (i): %d spans over %s, --retention-age %s", rs.AgeSpans, rs.AgeWindow, rs.MaxAge)
	if rep.Age, err = runRetentionAge(ctx, bin, rs, conc, tracesPerBatch); err != nil {
		return nil, fmt.Errorf("retention by age: %w", err)
	}
	a := rep.Age
	log.Printf("retention (i): oldest kept event %.1f min old at the pass; kept %d of %d (expected %d); data directory %.1f → %.1f MB",
		a.OldestAge.Minutes(), a.Kept, a.Spans, a.Expected, mb(a.DirBefore), mb(a.DirAfter))
	log.Printf("retention (ii): sustained ingest, --retention-size %d", rs.MaxBytes)
	if rep.Size, err = runRetentionSize(ctx, bin, rs, conc, tracesPerBatch); err != nil {
		return nil, fmt.Errorf("retention by size: %w", err)
	}
	mx, _ := rep.Size.maxDir()
	log.Printf("retention (ii): %d spans in %s; data directory at most %.1f MB (%.1f%% of the limit)",
		rep.Size.Accepted, rep.Size.Took.Round(time.Second), mb(mx), share(mx, rs.MaxBytes))
	return rep, nil
}

func mb(n int64) float64 { return float64(n) / 1e6 }

// share is n in percent of limit.
func share(n, limit int64) float64 { return 100 * float64(n) / float64(limit) }

// overshootText says by how much n passed limit, if it did.
func overshootText(n, limit int64) string {
	if n <= limit {
		return "none"
	}
	return fmt.Sprintf("%+.1f%%", share(n, limit)-100)
}

func runRetentionAge(ctx context.Context, bin string, rs retentionSizes, conc, tracesPerBatch int) (ageFigures, error) {
	var f ageFigures
	// The event times run from AgeWindow before the generator starts to
	// its start.
	f.GeneratedUntil = time.Now()
	batches, _, err := workload.New(7).BatchesOver(rs.AgeSpans, tracesPerBatch, rs.AgeWindow)
	if err != nil {
		return f, err
	}
	dir, err := os.MkdirTemp("", "tcbench-retention-age-")
	if err != nil {
		return f, err
	}
	defer cleanup(dir)
	s, err := startTracecomb(ctx, bin, dir, "--retention-age", rs.MaxAge.String())
	if err != nil {
		return f, err
	}
	defer s.stop() //nolint:errcheck // figures are taken
	exp := loadgen.NewHTTP(s.otlpHTTP, s.headers)
	defer exp.Close()
	t0 := time.Now()
	res := loadgen.Run(ctx, exp, batches, loadgen.Config{Concurrency: conc})
	if res.Accepted != sumSpans(batches) {
		return f, fmt.Errorf("%d of %d spans accepted (%v)", res.Accepted, sumSpans(batches), res.FirstErr)
	}
	if f.Spans, err = waitStored(ctx, s, res.Accepted, 300*time.Second); err != nil {
		return f, err
	}
	storedAt := time.Now()
	f.SendTook = storedAt.Sub(t0)
	file := filepath.Join(s.dataDir, "tracecomb.duckdb")
	f.DirBefore, _ = dirSizes(s.dataDir)
	f.FileBefore, f.WALBefore = fileBytes(file), fileBytes(file+".wal")
	// The pass that ends after the last span was stored deleted whatever
	// the limit excludes (the newest spans were sent last).
	var pass time.Time
	for deadline := time.Now().Add(3 * time.Minute); ; {
		v, err := scrapeFloat(ctx, s.metrics, "tracecomb_store_retention_last_run_timestamp_seconds", "")
		if err == nil && v > 0 {
			if pass = time.Unix(0, int64(v*1e9)); pass.After(storedAt) {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return f, fmt.Errorf("no retention pass within 3 min of the last span stored (last %v, %v)", pass, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	f.PassAfter = pass.Sub(storedAt)
	oldest, err := scrapeFloat(ctx, s.metrics, "tracecomb_store_oldest_event_timestamp_seconds", "test")
	if err != nil {
		return f, err
	}
	f.OldestAge = pass.Sub(time.Unix(0, int64(oldest*1e9)))
	if f.Deleted, err = scrape(ctx, s.metrics, "tracecomb_store_retention_deleted_events_total"); err != nil {
		return f, err
	}
	if f.Compactions, err = scrape(ctx, s.metrics, "tracecomb_store_compactions_total"); err != nil {
		return f, err
	}
	f.DirAfter, _ = dirSizes(s.dataDir)
	f.FileAfter, f.WALAfter = fileBytes(file), fileBytes(file+".wal")
	if f.Kept, err = queryCount(ctx, s, 7200); err != nil {
		return f, err
	}
	// Event times run evenly from GeneratedUntil-AgeWindow to
	// GeneratedUntil; the pass keeps those after pass-MaxAge.
	keptSpan := f.GeneratedUntil.Sub(pass.Add(-rs.MaxAge))
	f.Expected = int64(float64(f.Spans) * min(max(keptSpan.Seconds()/rs.AgeWindow.Seconds(), 0), 1))
	return f, nil
}

func runRetentionSize(ctx context.Context, bin string, rs retentionSizes, conc, tracesPerBatch int) (sizeFigures, error) {
	var f sizeFigures
	dir, err := os.MkdirTemp("", "tcbench-retention-size-")
	if err != nil {
		return f, err
	}
	defer cleanup(dir)
	s, err := startTracecomb(ctx, bin, dir, "--retention-size", strconv.FormatInt(rs.MaxBytes, 10))
	if err != nil {
		return f, err
	}
	defer s.stop() //nolint:errcheck // figures are taken
	exp := loadgen.NewHTTP(s.otlpHTTP, s.headers)
	defer exp.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var accepted, pushbacks, errored atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			g := workload.New(seed)
			for sctx.Err() == nil {
				b, err := g.Batch(tracesPerBatch)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				backoff := 5 * time.Millisecond
				for sctx.Err() == nil {
					out, refused, err := exp.Export(sctx, b)
					if out == loadgen.Accepted {
						accepted.Add(int64(b.Spans) - refused)
						break
					}
					if out == loadgen.Failed {
						if sctx.Err() == nil {
							errored.Add(int64(b.Spans))
							if err != nil {
								firstErr.CompareAndSwap(nil, err.Error())
							}
						}
						break
					}
					pushbacks.Add(1)
					time.Sleep(backoff)
					backoff = min(backoff*2, 200*time.Millisecond)
				}
			}
		}(uint64(100 + w))
	}
	file := filepath.Join(s.dataDir, "tracecomb.duckdb")
	t := time.NewTicker(rs.Sample)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
		}
		app, alloc := dirSizes(s.dataDir)
		smp := sizeSample{At: time.Since(start), Accepted: accepted.Load(), Dir: app, DirAlloc: alloc, File: fileBytes(file), WAL: fileBytes(file + ".wal")}
		f.Samples = append(f.Samples, smp)
		if f.Reached == 0 {
			if n, err := scrape(ctx, s.metrics, "tracecomb_store_retention_deleted_events_total"); err == nil && n > 0 {
				f.Reached = smp.At
				log.Printf("retention (ii): retention first deleted after %s (%d spans accepted, data directory %.1f MB)", smp.At.Round(time.Second), smp.Accepted, mb(max(app, alloc)))
			}
		}
		if (f.Reached > 0 && smp.At >= f.Reached+rs.Hold) || smp.At >= rs.MaxRun {
			done = true
		}
	}
	t.Stop()
	stop()
	wg.Wait()
	f.Took = time.Since(start)
	f.Accepted, f.Pushbacks, f.Errored = accepted.Load(), pushbacks.Load(), errored.Load()
	if e, ok := firstErr.Load().(string); ok {
		f.FirstErr = e
	}
	f.Deleted, _ = scrape(ctx, s.metrics, "tracecomb_store_retention_deleted_events_total")
	if f.Accepted == 0 {
		return f, fmt.Errorf("nothing accepted (%s)", f.FirstErr)
	}
	return f, ctx.Err()
}

// maxDir is the largest data directory seen (apparent or allocated) and
// when.
func (f sizeFigures) maxDir() (int64, time.Duration) {
	var mx int64
	var at time.Duration
	for _, s := range f.Samples {
		if v := max(s.Dir, s.DirAlloc); v > mx {
			mx, at = v, s.At
		}
	}
	return mx, at
}

// steady summarizes the samples from the moment the limit was reached.
func (f sizeFigures) steady() (lo, mean, hi int64, n int) {
	var sum int64
	for _, s := range f.Samples {
		if f.Reached == 0 || s.At < f.Reached {
			continue
		}
		v := max(s.Dir, s.DirAlloc)
		if n == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
		sum += v
		n++
	}
	if n > 0 {
		mean = sum / int64(n)
	}
	return lo, mean, hi, n
}

func cleanup(dir string) {
	if keepDirs {
		log.Printf("kept %s", dir)
		return
	}
	os.RemoveAll(dir)
}

// dirSizes is diskBytes with the apparent size first.
func dirSizes(dir string) (apparent, alloc int64) {
	alloc, apparent = diskBytes(dir)
	return apparent, alloc
}

func fileBytes(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// scrapeFloat returns the value of the series name (with label env=env
// when env is not empty) from a Prometheus text exposition.
func scrapeFloat(ctx context.Context, url, name, env string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := name + " "
	if env != "" {
		want = name + `{env="` + env + `"} `
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s has no %s", url, strings.TrimSpace(want))
}

// queryCount counts the events of the last rangeSec seconds with the
// Query Data API, as a client does.
func queryCount(ctx context.Context, s *server, rangeSec int) (int64, error) {
	cl := &http.Client{Timeout: 60 * time.Second}
	code, _, body, err := post(ctx, cl, s.query+"/1/queries/__all__", s.headers,
		map[string]any{"calculations": []map[string]any{{"op": "COUNT"}}, "time_range": rangeSec})
	if err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("create query: %d %.300s %v", code, body, err)
	}
	var q struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &q)
	code, hdr, body, err := post(ctx, cl, s.query+"/1/query_results/__all__", s.headers, map[string]any{"query_id": q.ID, "disable_series": true})
	if err != nil || (code != http.StatusCreated && code != http.StatusOK) {
		return 0, fmt.Errorf("create result: %d %.300s %v", code, body, err)
	}
	var res struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &res)
	loc := hdr.Get("Location")
	if loc == "" {
		loc = "/1/query_results/__all__/" + res.ID
	}
	for i := 0; i < 600; i++ {
		code, body, err := get(ctx, cl, s.query+loc, s.headers)
		if err != nil || code != http.StatusOK {
			return 0, fmt.Errorf("get result: %d %.300s %v", code, body, err)
		}
		var out struct {
			Complete bool `json:"complete"`
			Data     struct {
				Results []struct {
					Data map[string]float64 `json:"data"`
				} `json:"results"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return 0, fmt.Errorf("result %.300s: %v", body, err)
		}
		if out.Complete {
			if len(out.Data.Results) == 0 {
				return 0, nil
			}
			return int64(out.Data.Results[0].Data["COUNT"]), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("the COUNT query did not complete")
}

// retentionMarkdown is the report's "Retention" section; cmd is the
// command line that measured it.
func retentionMarkdown(r *retentionReport, cmd string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	rs, a, sz := r.Sizes, r.Age, r.Size
	p("## Retention (tracecomb only)\n\n")
	if cmd != "" {
		p("Measured with `%s` on %s (%s; tracecomb %s; %d × %s; load average %s before, %s after).\n\n", cmd,
			r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took.Round(time.Second), r.Version, r.Machine.CPUs, r.Machine.Model, r.LoadBefore, r.LoadAfter)
	}
	p("A full `make bench` ends with this scenario; after `make bench-bins` (or `go build -o bench/.cache/tracecomb ./cmd/tracecomb`),\n")
	p("`cd bench && go run ./cmd/tcbench -retention -tracecomb .cache/tracecomb -out ../docs/benchmarks.md` runs only it and\n")
	p("replaces this section.\n\n")
	p("**By age.** %d spans of the workload above with event times spread evenly over the %s before the run, sent\n", a.Spans, fmtDur(rs.AgeWindow))
	p("as fast as a fresh tracecomb with `--retention-age %s` accepts them (%s until stored). Retention runs every\n", fmtDur(rs.MaxAge), a.SendTook.Round(time.Second))
	p("minute; the figures are taken after the first pass that ended after the last span was stored (%s later):\n", a.PassAfter.Round(time.Second))
	p("the age of the oldest kept event at that pass (`tracecomb_store_oldest_event_timestamp_seconds`), the events a\n")
	p("Query Data API `COUNT` over the last two hours finds, against the spans whose event time was within %s of the\n", fmtDur(rs.MaxAge))
	p("pass, and the data directory's size before and after.\n\n")
	p("| figure | value |\n|---|---:|\n")
	p("| age limit | %s |\n", fmtDur(rs.MaxAge))
	p("| oldest kept event, age at the pass | %.1f min |\n", a.OldestAge.Minutes())
	p("| events kept (COUNT) | %d of %d (%.1f%%) |\n", a.Kept, a.Spans, 100*float64(a.Kept)/float64(max(a.Spans, 1)))
	p("| events within the limit at the pass (expected) | %d |\n", a.Expected)
	p("| events deleted (`tracecomb_store_retention_deleted_events_total`) | %d |\n", a.Deleted)
	p("| data directory before → after | %.1f → %.1f MB |\n", mb(a.DirBefore), mb(a.DirAfter))
	p("| DuckDB file, its WAL before → after | %.1f, %.1f → %.1f, %.1f MB |\n", mb(a.FileBefore), mb(a.WALBefore), mb(a.FileAfter), mb(a.WALAfter))
	p("| file rewrites (`tracecomb_store_compactions_total`) | %d |\n\n", a.Compactions)
	p("Deleted rows free their blocks at the pass's checkpoint. DuckDB gives the free blocks at the end of its file back\n")
	p("(the file shrinks) and keeps the others for the next writes (the file stops growing); retention rewrites the file\n")
	p("to give those back too when at least 64 MiB and more than half of it are reclaimable and the live data is at most\n")
	p("`--retention-compact-max-live` (128 MiB).\n\n")
	mx, mxAt := sz.maxDir()
	lo, mean, hi, n := sz.steady()
	p("**By size.** A fresh tracecomb with `--retention-size %s` gets a sustained stream of the same spans with\n", fmtBytes(rs.MaxBytes))
	p("current event times from 4 senders as fast as it accepts them, until %s after retention first deleted (at\n", fmtDur(rs.Hold))
	p("most %s in all). Retention deletes the oldest events once the environment's tables, with what a checkpoint\n", fmtDur(rs.MaxRun))
	p("needs, pass 85%% of the limit, down to 70%% (more often than every minute under a fast stream). The data\n")
	p("directory (every file in it: the DuckDB file, its WAL, the state database) is measured every %s, apparent size\n", fmtDur(rs.Sample))
	p("and allocated blocks; the larger counts.\n\n")
	p("| figure | value |\n|---|---:|\n")
	p("| size limit | %s (%.1f MB) |\n", fmtBytes(rs.MaxBytes), mb(rs.MaxBytes))
	p("| spans accepted | %d in %s (%.0f spans/s) |\n", sz.Accepted, sz.Took.Round(time.Second), float64(sz.Accepted)/sz.Took.Seconds())
	if sz.Reached > 0 {
		p("| retention first deleted after | %s |\n", sz.Reached.Round(time.Second))
	} else {
		p("| retention first deleted after | never |\n")
	}
	p("| largest data directory | %.1f MB at %s (**%.1f%%** of the limit) |\n", mb(mx), mxAt.Round(time.Second), share(mx, rs.MaxBytes))
	p("| over the limit | %s |\n", overshootText(mx, rs.MaxBytes))
	if n > 0 {
		p("| from the first deletion on (%d samples): min / mean / max | %.1f / %.1f / %.1f MB (%.0f%% / %.0f%% / %.0f%%) |\n", n, mb(lo), mb(mean), mb(hi),
			share(lo, rs.MaxBytes), share(mean, rs.MaxBytes), share(hi, rs.MaxBytes))
	}
	p("| events deleted | %d |\n", sz.Deleted)
	p("| pushback answers (429/503, retried), errored spans | %d, %d |\n\n", sz.Pushbacks, sz.Errored)
	p("Retention targets: %s of data under a %s age limit keeps about %s — the oldest kept event was %.1f min old;\n", fmtDur(rs.AgeWindow), fmtDur(rs.MaxAge), fmtDur(rs.MaxAge), a.OldestAge.Minutes())
	p("a size limit keeps the data directory under it (±10%%) during a sustained ingest — at most %.1f%% of it.\n\n", share(mx, rs.MaxBytes))
	p("Data directory over time (every %s; MB, 1 MB = 10⁶ bytes):\n\n", fmtDur(sizeRowEvery(sz)))
	p("| time | spans accepted | data directory | allocated | DuckDB file | WAL | of the limit |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	every := sizeRowEvery(sz)
	next := time.Duration(0)
	for i, s := range sz.Samples {
		if s.At < next && i != len(sz.Samples)-1 && s.At != mxAt {
			continue
		}
		next = (s.At/every + 1) * every
		p("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f%% |\n", s.At.Round(time.Second), s.Accepted, mb(s.Dir), mb(s.DirAlloc), mb(s.File), mb(s.WAL),
			100*float64(max(s.Dir, s.DirAlloc))/float64(rs.MaxBytes))
	}
	p("\n")
	return b.String()
}

// sizeRowEvery spaces the timeline's rows to about 20.
func sizeRowEvery(sz sizeFigures) time.Duration {
	if len(sz.Samples) == 0 {
		return 10 * time.Second
	}
	last := sz.Samples[len(sz.Samples)-1].At
	for _, d := range []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute} {
		if last/d <= 20 {
			return d
		}
	}
	return 2 * time.Minute
}

// fmtDur writes 10m, 1h, 1h30m, 30s rather than 10m0s, 1h0m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func fmtBytes(n int64) string {
	for _, u := range []struct {
		name string
		m    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// retentionHeading starts the report's retention section.
const retentionHeading = "## Retention (tracecomb only)"

// spliceRetention puts section into the report md: in place of its
// retention section if it has one, else before "## Goals" (or at the
// end).
func spliceRetention(md, section string) string {
	if i := strings.Index(md, retentionHeading); i >= 0 {
		rest := md[i+len(retentionHeading):]
		end := len(md)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + len(retentionHeading) + j + 1
		}
		return md[:i] + section + md[end:]
	}
	if i := strings.Index(md, "\n## Goals"); i >= 0 {
		return md[:i+1] + section + md[i+1:]
	}
	return strings.TrimRight(md, "\n") + "\n\n" + section
}
