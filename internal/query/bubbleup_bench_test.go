package query_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// bubbleBenchSpans is the number of spans BenchmarkBubbleUp loads:
// 200,000, or TRACECOMB_BUBBLEUP_BENCH_SPANS (docs/benchmarks.md gives
// 1,000,000 and 10,000,000). TRACECOMB_BUBBLEUP_BENCH_DIR keeps the
// store's file there for the next run.
func bubbleBenchSpans(b *testing.B) int {
	n := 200_000
	if s := os.Getenv("TRACECOMB_BUBBLEUP_BENCH_SPANS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("TRACECOMB_BUBBLEUP_BENCH_SPANS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

// BenchmarkBubbleUp runs BubbleUp over a store of bubbleBenchSpans spans
// written in time order over one hour, one dataset, with the hot fields
// and six attributes (customer of 1,000 values, region of 5, http.route
// of 5, http.status_code, retries, db.rows): a heatmap selection of the
// last 10 minutes above 500 ms, where customer cust-42's spans are ten
// times slower. One iteration is one BubbleUp over the whole hour, with
// the store's single-pass count (BubbleUpCounter) and with one aggregate
// query per column (what a store without it gets); cpu-s/op is the CPU
// time of the process (DuckDB's threads included) per BubbleUp, which
// the machine's other load disturbs less than the wall time.
func BenchmarkBubbleUp(b *testing.B) {
	ctx := context.Background()
	n := bubbleBenchSpans(b)
	// TRACECOMB_BUBBLEUP_BENCH_DIR keeps the store between runs: a run
	// finding the spans there does not write them again.
	dir := os.Getenv("TRACECOMB_BUBBLEUP_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, fmt.Sprintf("bubbleup-%d.duckdb", n))}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	have, err := st.Aggregate(ctx, "bench", store.AggregateQuery{Start: t0, End: t0.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcCount}}})
	if err != nil {
		b.Fatal(err)
	}
	if len(have.Rows) == 1 && have.Rows[0].Values[0].Num > 0 {
		if got := int(have.Rows[0].Values[0].Num); got != n {
			b.Fatalf("%s holds %d spans, not %d: delete it", dir, got, n)
		}
		n = 0 // written by an earlier run
	}
	rng := rand.New(rand.NewPCG(3, 4))
	routes := []string{"GET /", "GET /api/cart", "POST /api/cart", "GET /api/items", "GET /health"}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"}
	batch := make([]model.Event, 0, 10_000)
	for i := range n {
		at := t0.Add(time.Duration(int64(time.Hour) / int64(n) * int64(i)))
		cust := fmt.Sprintf("cust-%d", rng.IntN(1000))
		d := rng.ExpFloat64() * 50
		if cust == "cust-42" {
			d = 600 + d*10
		}
		svc := fmt.Sprintf("svc-%02d", i%20)
		e := model.Event{Dataset: "shop", ServiceName: svc, Time: at, Name: routes[rng.IntN(len(routes))], DurationMs: d,
			SpanKind: "server", SampleRate: 1, Error: rng.IntN(100) == 0, Source: model.SourceOTLP,
			Attrs: []model.Attr{
				{Key: "customer", Value: model.Str(cust)},
				{Key: "region", Value: model.Str(regions[rng.IntN(len(regions))])},
				{Key: "http.route", Value: model.Str(routes[rng.IntN(len(routes))])},
				{Key: "http.status_code", Value: model.Int(int64(200 + 300*rng.IntN(2)))},
				{Key: "retries", Value: model.Int(int64(rng.IntN(4)))},
				{Key: "db.rows", Value: model.Float(rng.ExpFloat64() * 100)},
			}}
		e.TraceID[0], e.TraceID[8], e.TraceID[9], e.SpanID[0], e.SpanID[1] = byte(i), byte(i>>8), byte(i>>16), byte(i), byte(i>>24)
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Write(ctx, []store.Batch{{Env: "bench", Events: batch}}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	cols, err := st.Columns(ctx, "bench", "shop")
	if err != nil {
		b.Fatal(err)
	}
	req := query.BubbleUpRequest{Envs: []string{"bench"}, Plan: bubblePlan(b, t0, t0.Add(time.Hour)), Dataset: "shop", Columns: cols,
		Selection: query.Selection{Start: t0.Add(50 * time.Minute), Column: "duration_ms", Min: ptr(500.0)}}
	for name, agg := range map[string]store.Aggregator{"single-pass": st, "per-column": aggregateOnly{st}} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				res, err := query.BubbleUp(ctx, agg, req)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Columns) == 0 || res.Columns[0].Column != "customer" {
					b.Fatalf("first column %+v, want customer", res.Columns)
				}
				b.ReportMetric(float64(len(res.Columns)), "columns")
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the process's CPU time (user and system, every thread:
// DuckDB's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
