package clickhouse

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// The read benchmarks share one fixture of -clickhouse.spans spans.
var fixtureSpans = flag.Int("clickhouse.spans", 20000, "spans in the read benchmarks' fixture")

// gen produces the benchmark workload of the DuckDB store's benchmarks:
// traces of 10 spans across 10 services, 11 attributes per span drawn
// from 97 keys and 1000 values.
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
			seen := map[string]bool{}
			var attrs []model.Attr
			for range 11 {
				k := g.keys[g.rng.IntN(len(g.keys))]
				if !seen[k] {
					seen[k] = true
					attrs = append(attrs, model.Attr{Key: k, Value: model.Str(g.values[g.rng.IntN(len(g.values))])})
				}
			}
			g.now = g.now.Add(time.Duration(g.rng.IntN(200)) * time.Microsecond)
			evs = append(evs, model.Event{
				Dataset: svc, ServiceName: svc, Time: g.now, Source: model.SourceOTLP,
				TraceID: tid, SpanID: sid, ParentID: parent,
				Name: fmt.Sprintf("op-%d", g.rng.IntN(50)), DurationMs: float64(g.rng.IntN(1_000_000)) / 1000,
				SpanKind: "server", SampleRate: 1, Attrs: attrs,
			})
			parent = sid
		}
	}
	return evs, ids
}

// BenchmarkWrite writes batches of 1,000 and of 10,000 spans; spans/s is
// end to end (encoding, the HTTP INSERT, ClickHouse's parsing and part
// writing, the trace index's materialized view).
func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) { benchWrite(b, n) })
	}
}

func benchWrite(b *testing.B, batch int) {
	s := openTest(b, Config{})
	g := newGen(1)
	batches := make([][]model.Event, 4)
	for i := range batches {
		batches[i], _ = g.batch(batch)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: batches[i%len(batches)]}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
}

type fixture struct {
	s     *Store
	ids   []model.TraceID
	spans int
	bytes int64
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

// readFixture builds (once) a store of -clickhouse.spans spans and
// reports the bytes its events take on disk (compressed, after an
// OPTIMIZE that merges the parts).
func readFixture(b *testing.B) *fixture {
	fixOnce.Do(func() {
		ts := server(b)
		s, err := Open(context.Background(), Config{URL: ts.url, Database: newDatabase()})
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{s: s}
		g := newGen(2)
		start := time.Now()
		for f.spans < *fixtureSpans {
			evs, ids := g.batch(min(5000, *fixtureSpans-f.spans))
			if err := s.Write(context.Background(), []store.Batch{{Env: "bench", Events: evs}}); err != nil {
				fixErr = err
				return
			}
			f.spans += len(evs)
			f.ids = append(f.ids, ids...)
		}
		took := time.Since(start)
		ctx := context.Background()
		if err := s.c.exec(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
			fixErr = err
			return
		}
		rows, err := s.c.rows(ctx, "SELECT sum(bytes) FROM system.parts WHERE database = ? AND table IN ('events', 'traces') AND active", s.cfg.Database)
		if err != nil {
			fixErr = err
			return
		}
		f.bytes, _ = rows[0][0].(int64)
		fmt.Fprintf(os.Stderr, "fixture: %d spans written in %v (%.0f spans/s), %d bytes on disk, %.1f bytes/span\n",
			f.spans, took.Round(time.Millisecond), float64(f.spans)/took.Seconds(), f.bytes, float64(f.bytes)/float64(f.spans))
		fix = f
	})
	if fixErr != nil {
		b.Fatal(fixErr)
	}
	return fix
}

// BenchmarkTraceByID reads whole traces by id from the fixture: the trace
// index's time range, then the events in it.
func BenchmarkTraceByID(b *testing.B) {
	f := readFixture(b)
	ctx := context.Background()
	b.ReportMetric(float64(f.bytes)/float64(f.spans), "disk-bytes/span")
	took := make([]time.Duration, 0, b.N)
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
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
