package duckdb

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/model/modeltest"
	"github.com/tracecomb/tracecomb/internal/store"
)

var (
	benchSpans = flag.Int("bench.spans", 1_000_000, "spans in the aggregate benchmarks' store")
	benchDir   = flag.String("bench.dir", "", "directory to keep the benchmark store in between runs (default: a new temporary directory)")
	benchBloom = flag.Int("bench.filterbits", 0, "the benchmark store's Config.SearchFilterBitsPerItem (0: the default)")
)

// benchStore opens a store holding *benchSpans synthetic spans written
// 200,000 at a time, reusing one from -bench.dir when it is there.
func benchStore(b *testing.B) (*Store, time.Time, time.Time) {
	b.Helper()
	return benchStoreWrites(b, 20_000)
}

// benchStoreWrites is benchStore with perWrite traces per Write.
func benchStoreWrites(b *testing.B, perWrite int) (*Store, time.Time, time.Time) {
	b.Helper()
	n := *benchSpans / modeltest.SpansPerTrace
	start := modeltest.Epoch
	step := time.Millisecond
	end := start.Add(time.Duration(n)*step + time.Second)
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	name := fmt.Sprintf("bench-%d.duckdb", n*modeltest.SpansPerTrace)
	if perWrite != 20_000 {
		name = fmt.Sprintf("bench-%d-w%d.duckdb", n*modeltest.SpansPerTrace, perWrite)
	}
	if *benchBloom > 0 {
		name = strings.TrimSuffix(name, ".duckdb") + fmt.Sprintf("-b%d.duckdb", *benchBloom)
	}
	path := filepath.Join(dir, name)
	done := path + ".complete"
	_, err := os.Stat(done)
	reuse := err == nil
	if !reuse {
		_ = os.Remove(path)
		_ = os.Remove(path + ".wal")
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: path, SearchFilterBitsPerItem: *benchBloom}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if reuse {
		return s, start, end
	}
	t0 := time.Now()
	g := modeltest.NewGenerator(1, start, step)
	buf := make([]model.Event, 0, perWrite*modeltest.SpansPerTrace)
	for left := n; left > 0; {
		buf = buf[:0]
		k := min(left, perWrite)
		for range k {
			buf = g.Trace(buf)
		}
		left -= k
		if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: buf}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	_ = os.WriteFile(done, nil, 0o644)
	b.Logf("wrote %d spans in %v", n*modeltest.SpansPerTrace, time.Since(t0).Round(time.Millisecond))
	return s, start, end
}

// BenchmarkAggregate runs typical queries over the whole synthetic data
// set (-bench.spans, default 1M; -bench.spans=10000000 for the 10M target).
func BenchmarkAggregate(b *testing.B) {
	s, start, end := benchStore(b)
	count := store.Calc{Op: store.CalcCount}
	p99 := store.Calc{Op: store.CalcPercentile, Column: model.FieldDurationMs, Percentile: 0.99}
	cases := []struct {
		name string
		q    store.AggregateQuery
	}{
		{"COUNT+P99_by_service", store.AggregateQuery{Calcs: []store.Calc{count, p99}, Breakdowns: []string{model.FieldServiceName}}},
		{"COUNT+P99_by_name", store.AggregateQuery{Calcs: []store.Calc{count, p99}, Breakdowns: []string{model.FieldName}}},
		{"COUNT+P99_by_attr", store.AggregateQuery{Calcs: []store.Calc{count, p99}, Breakdowns: []string{modeltest.AttrKey(3)}}},
		{"COUNT_where_attr_eq", store.AggregateQuery{Calcs: []store.Calc{count},
			Filters: []store.Filter{{Column: modeltest.AttrKey(5), Op: store.OpEq, Value: modeltest.AttrValue(5, 123)}}}},
		{"COUNT_where_int_attr_gt", store.AggregateQuery{Calcs: []store.Calc{count},
			Filters: []store.Filter{{Column: modeltest.AttrKey(72), Op: store.OpGt, Value: model.Int(990)}}}},
		{"COUNT_where_attr_by_service", store.AggregateQuery{Calcs: []store.Calc{count, p99}, Breakdowns: []string{model.FieldServiceName},
			Filters: []store.Filter{{Column: modeltest.AttrKey(5), Op: store.OpEq, Value: modeltest.AttrValue(5, 123)}}}},
		{"HEATMAP", store.AggregateQuery{Calcs: []store.Calc{count, {Op: store.CalcHeatmap, Column: model.FieldDurationMs}}}},
		{"COUNT_series_60", store.AggregateQuery{Calcs: []store.Calc{count}, Granularity: (end.Sub(start) / 60).Round(time.Second)}},
	}
	ctx := context.Background()
	for _, c := range cases {
		q := c.q
		q.Start, q.End = start, end
		b.Run(c.name, func(b *testing.B) {
			res, err := s.Aggregate(ctx, "bench", q)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Rows) == 0 || res.Rows[0].Values[0].Num <= 0 {
				b.Fatalf("no result: %+v", res.Rows)
			}
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := s.Aggregate(ctx, "bench", q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
