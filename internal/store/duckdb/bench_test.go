package duckdb

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// The read benchmarks share one fixture of -duckdb.spans spans, built once.
// go test -run '^$' -bench . -duckdb.spans 1000000 measures at 1M spans.
var fixtureSpans = flag.Int("duckdb.spans", 20000, "spans in the read benchmarks' fixture")
var fixtureDensity = flag.Float64("duckdb.density", 0, "the fixture store's MinColumnDensity (0: the default; -1: a column per field)")
var fixtureDir = flag.String("duckdb.dir", "", "directory keeping the read benchmarks' fixture between runs (default: a new temporary directory, removed after the run)")

// gen produces the benchmark workload: traces of 10 spans across 10
// services, 11 attributes per span drawn from 97 keys and 1000 values.
type gen struct {
	rng    *rand.Rand
	keys   []string
	values []string
	now    time.Time
}

func newGen(seed uint64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 1)), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 97 {
		g.keys = append(g.keys, fmt.Sprintf("attr.key_%02d", i))
	}
	for i := range 1000 {
		g.values = append(g.values, fmt.Sprintf("value-%04d", i))
	}
	return g
}

// batch returns n spans (n/10 whole traces) and the trace ids.
func (g *gen) batch(n int) ([]model.Event, []model.TraceID) {
	evs := make([]model.Event, 0, n)
	var ids []model.TraceID
	for len(evs) < n {
		var tid model.TraceID
		for i := range tid {
			tid[i] = byte(g.rng.Uint32())
		}
		ids = append(ids, tid)
		var parent model.SpanID
		for s := 0; s < 10 && len(evs) < n; s++ {
			var sid model.SpanID
			for i := range sid {
				sid[i] = byte(g.rng.Uint32())
			}
			svc := fmt.Sprintf("service-%d", s)
			attrs := make([]model.Attr, 11)
			for i := range attrs {
				attrs[i] = model.Attr{Key: g.keys[g.rng.IntN(len(g.keys))], Value: model.Str(g.values[g.rng.IntN(len(g.values))])}
			}
			g.now = g.now.Add(time.Duration(g.rng.IntN(200)) * time.Microsecond)
			evs = append(evs, model.Event{
				Dataset: svc, ServiceName: svc, Time: g.now, Source: model.SourceOTLP,
				TraceID: tid, SpanID: sid, ParentID: parent,
				Name: fmt.Sprintf("op-%d", g.rng.IntN(50)), DurationMs: float64(g.rng.IntN(1_000_000)) / 1000,
				SpanKind: "server", SampleRate: 1, Attrs: dedupAttrs(attrs),
			})
			parent = sid
		}
	}
	return evs, ids
}

func dedupAttrs(attrs []model.Attr) []model.Attr {
	seen := map[string]bool{}
	out := attrs[:0]
	for _, a := range attrs {
		if !seen[a.Key] {
			seen[a.Key] = true
			out = append(out, a)
		}
	}
	return out
}

func BenchmarkWrite(b *testing.B) {
	// lists: the default (this workload's fields are on 11% of events, so
	// they stay in the overflow lists); columns: a column per field.
	// batch: events per Write (the ingest path's group commits carry
	// from a few hundred to tens of thousands).
	for _, batch := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprintf("lists/batch=%d", batch), func(b *testing.B) { benchWrite(b, 0, batch) })
	}
	b.Run("columns/batch=1000", func(b *testing.B) { benchWrite(b, -1, 1000) })
}

func benchWrite(b *testing.B, density float64, batch int) {
	s, err := Open(context.Background(), Config{Path: filepath.Join(b.TempDir(), "bench.duckdb"), MinColumnDensity: density}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newGen(1)
	batches := make([][]model.Event, max(2, 16000/batch))
	for i := range batches {
		batches[i], _ = g.batch(batch)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: batches[i%len(batches)]}}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
	// cpu-us/span is the process's CPU (DuckDB's threads included), a
	// steadier measure than the rate on a shared machine, up to a final
	// checkpoint: the checkpoint work left over is the writes' too.
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1000/float64(b.N*batch), "cpu-us/span")
}

type fixture struct {
	s     *Store
	dir   string // removed after the run; "" when kept (-duckdb.dir)
	ids   []model.TraceID
	spans int
	bytes int64
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// readFixture builds (once) a store of -duckdb.spans spans and reports its
// size on disk after a checkpoint.
func readFixture(b *testing.B) *fixture {
	fixOnce.Do(func() {
		dir, keep := *fixtureDir, true
		if dir == "" {
			d, err := os.MkdirTemp("", "tracecomb-bench-")
			if err != nil {
				fixErr = err
				return
			}
			dir, keep = d, false
		}
		path := filepath.Join(dir, fmt.Sprintf("fixture-%d-%g.duckdb", *fixtureSpans, *fixtureDensity))
		done := path + ".complete"
		_, err := os.Stat(done)
		reuse := keep && err == nil
		if !reuse {
			_ = os.Remove(path)
			_ = os.Remove(path + ".wal")
		}
		s, err := Open(context.Background(), Config{Path: path, MinColumnDensity: *fixtureDensity}, slog.New(slog.DiscardHandler))
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{s: s}
		if !keep {
			f.dir = dir
		}
		g := newGen(2)
		start := time.Now()
		for f.spans < *fixtureSpans {
			evs, ids := g.batch(min(5000, *fixtureSpans-f.spans))
			if !reuse {
				if err := s.Write(context.Background(), []store.Batch{{Env: "bench", Events: evs}}); err != nil {
					fixErr = err
					return
				}
			}
			f.spans += len(evs)
			f.ids = append(f.ids, ids...)
		}
		took := time.Since(start)
		if keep && !reuse {
			defer func() { _ = os.WriteFile(done, nil, 0o644) }()
		}
		if _, err := s.db.Exec("CHECKPOINT"); err != nil {
			fixErr = err
			return
		}
		for _, p := range []string{path, path + ".wal"} {
			if fi, err := os.Stat(p); err == nil {
				f.bytes += fi.Size()
			}
		}
		verb := "written"
		if reuse {
			verb = "reused, ids generated"
		}
		fmt.Fprintf(os.Stderr, "fixture: %d spans "+verb+" in %v (%.0f spans/s), %d bytes on disk, %.1f bytes/span\n",
			f.spans, took.Round(time.Millisecond), float64(f.spans)/took.Seconds(), f.bytes, float64(f.bytes)/float64(f.spans))
		fix = f
	})
	if fixErr != nil {
		b.Fatal(fixErr)
	}
	return fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		_ = fix.s.Close()
		if fix.dir != "" {
			_ = os.RemoveAll(fix.dir)
		}
	}
	os.Exit(code)
}

func BenchmarkTraceByID(b *testing.B) {
	f := readFixture(b)
	ctx := context.Background()
	b.ReportMetric(float64(f.bytes)/float64(f.spans), "disk-bytes/span")
	took := make([]time.Duration, 0, b.N)
	cpu0 := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := f.ids[(i*7919)%len(f.ids)]
		start := time.Now()
		evs, err := f.s.Trace(ctx, "bench", id)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(evs) == 0 {
			b.Fatalf("trace %s: no events", id)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

func BenchmarkScanAttributeFilter(b *testing.B) {
	f := readFixture(b)
	ctx := context.Background()
	// About 0.1% of spans match: attr.key_42 is on 11/97 of them, and
	// one value in a hundred starts so.
	q := store.ScanQuery{
		Datasets: []string{"service-3"},
		Filters:  []store.Filter{{Column: "attr.key_42", Op: store.OpStartsWith, Value: model.Str("value-01")}},
		Limit:    100,
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, err := range f.s.Scan(ctx, "bench", q) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		b.Fatal("filter matched nothing")
	}
}

// BenchmarkCountAttributeFilter is the shape of a query engine's filtered
// COUNT: it measures the attribute filter itself, without decoding rows.
func BenchmarkCountAttributeFilter(b *testing.B) {
	f := readFixture(b)
	e := f.s.reg.Load().envs["bench"]
	where, args, err := dialect.Where([]store.Filter{{Column: "attr.key_42", Op: store.OpEq, Value: model.Str("value-0123")}}, store.And, resolver(e))
	if err != nil {
		b.Fatal(err)
	}
	q := "SELECT count(*) FROM " + e.eventsTable() + " WHERE " + where
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var n int64
		if err := f.s.db.QueryRow(q, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeTrace reads one trace of 10,000 and of 100,000 spans (the
// workload's spans, all given one trace id) by id, as the trace page does.
func BenchmarkLargeTrace(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, Config{Path: filepath.Join(b.TempDir(), "large.duckdb")}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			evs, ids := newGen(7).batch(n)
			for i := range evs {
				evs[i].TraceID = ids[0]
			}
			for from := 0; from < n; from += 10_000 {
				if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: evs[from:min(n, from+10_000)]}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				got, err := s.Trace(ctx, "bench", ids[0])
				if err != nil || len(got) != n {
					b.Fatalf("%d events, %v", len(got), err)
				}
			}
		})
	}
}
