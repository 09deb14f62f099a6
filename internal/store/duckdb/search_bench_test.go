package duckdb

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/model/modeltest"
	"github.com/tracecomb/tracecomb/internal/store"
)

// BenchmarkSearch is the benchmark harness's search as the Honeycomb Query
// Data API runs it: COUNT by trace.trace_id of the events of one service
// carrying one attribute value, limit 20, over the whole store
// (-bench.spans, default 1M; -bench.dir keeps the store between runs),
// written 2,000 spans a Write as the server's group commits write them.
func BenchmarkSearch(b *testing.B) {
	s, start, end := benchStoreWrites(b, 200)
	ctx := context.Background()
	// Values of string keys kept in the overflow lists: each is on ~1 in
	// 8,800 spans, a tenth of them in the service.
	qs := make([]store.AggregateQuery, 0, 50)
	for i := range 50 {
		qs = append(qs, store.AggregateQuery{
			Start: start, End: end,
			Calcs:      []store.Calc{{Op: store.CalcCount}},
			Breakdowns: []string{model.FieldTraceID},
			Filters: []store.Filter{
				{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str(modeltest.Service(i % modeltest.Services))},
				{Column: modeltest.AttrKey(i % 70), Op: store.OpEq, Value: modeltest.AttrValue(i%70, (i*37)%modeltest.AttrValues)},
			},
			Limit: 20,
		})
	}
	hits := 0
	for _, q := range qs {
		res, err := s.Aggregate(ctx, "bench", q)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) > 0 {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no search found a trace")
	}
	var filterBytes int64
	if err := s.db.QueryRow(`SELECT sum(bit_length(bits)) // 8 FROM ` + s.reg.Load().envs["bench"].bloomsTable()).Scan(&filterBytes); err != nil {
		b.Fatal(err)
	}
	// filtered: through the search filter; scan: every event's lists, as
	// before the filter existed.
	for _, scan := range []bool{false, true} {
		name := "filtered"
		if scan {
			name = "scan"
		}
		b.Run(name, func(b *testing.B) {
			s.noSearchFilter = scan
			defer func() { s.noSearchFilter = false }()
			took := make([]time.Duration, 0, b.N)
			cpu0 := processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := s.Aggregate(ctx, "bench", qs[i%len(qs)]); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(filterBytes)/float64(*benchSpans), "filter-bytes/span")
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
