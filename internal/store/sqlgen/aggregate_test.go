package sqlgen

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

func aggSource(d Dialect) AggSource {
	return AggSource{
		Table: d.Quote("events_1"), Time: d.Quote("ts"), SampleRate: d.Quote("sample_rate"), Duration: d.Quote("duration_ms"),
		Scope: d.Quote("ds") + " IN (1, 2)",
		Resolve: func(field string) []Column {
			switch field {
			case "name":
				return []Column{{Expr: d.Quote("name"), Kind: model.KindString}}
			case "duration_ms":
				return []Column{{Expr: d.Quote("duration_ms"), Kind: model.KindFloat}}
			case "http.status":
				return []Column{{Expr: d.Quote("a1"), Kind: model.KindInt}, {Expr: d.Quote("a2"), Kind: model.KindString}}
			case "rare":
				return []Column{{Expr: d.Quote("ov_flt") + "[?]", Args: []any{"rare"}, Kind: model.KindFloat}}
			}
			return nil
		},
	}
}

// TestAggregateGolden pins the SQL of typical plans for both dialects.
func TestAggregateGolden(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	count := store.Calc{Op: store.CalcCount}
	p99 := store.Calc{Op: store.CalcPercentile, Column: "duration_ms", Percentile: 0.99}
	cases := []struct {
		name string
		q    store.AggregateQuery
	}{
		{"count", store.AggregateQuery{}},
		{"count_p99_by_name", store.AggregateQuery{Calcs: []store.Calc{count, p99}, Breakdowns: []string{"name"},
			Filters: []store.Filter{{Column: "http.status", Op: store.OpGe, Value: model.Int(500)}}}},
		{"every_sql_calc_usage_mode", store.AggregateQuery{UsageMode: true, Calcs: []store.Calc{count,
			{Op: store.CalcSum, Column: "rare"}, {Op: store.CalcAvg, Column: "duration_ms"}, {Op: store.CalcMin, Column: "http.status"},
			{Op: store.CalcMax, Column: "http.status"}, {Op: store.CalcCountDistinct, Column: "http.status"}}}},
		{"weighted_avg_having_order_limit", store.AggregateQuery{Calcs: []store.Calc{{Op: store.CalcAvg, Column: "duration_ms"}},
			Breakdowns: []string{"http.status", "name"}, Havings: []store.Having{{Calc: count, Op: store.OpGt, Value: 10}},
			Orders: []store.AggOrder{{Breakdown: "name", Desc: true}}, Limit: 5}},
		{"heatmap_concurrency_series", store.AggregateQuery{Calcs: []store.Calc{{Op: store.CalcHeatmap, Column: "duration_ms"}, {Op: store.CalcConcurrency}},
			Breakdowns: []string{"name"}, Granularity: time.Minute, Combination: store.Or,
			Filters: []store.Filter{{Column: "name", Op: store.OpStartsWith, Value: model.Str("GET")}, {Column: "rare", Op: store.OpExists}}}},
		{"rate", store.AggregateQuery{Calcs: []store.Calc{{Op: store.CalcRateSum, Column: "duration_ms"}}}},
	}
	for _, d := range []Dialect{DuckDB(), ClickHouse()} {
		t.Run(d.Name, func(t *testing.T) {
			var sb strings.Builder
			for _, c := range cases {
				q := c.q
				q.Start, q.End = start, start.Add(time.Hour)
				p, err := d.PlanAggregate(q, aggSource(d))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for _, st := range p.Statements() {
					fmt.Fprintf(&sb, "-- %s: %s\n%s;\n-- args: %v\n\n", c.name, st.Name, st.SQL, st.Args)
					if n := strings.Count(st.SQL, "?"); n != len(st.Args) {
						t.Errorf("%s %s: %d placeholders, %d args", c.name, st.Name, n, len(st.Args))
					}
				}
			}
			got := sb.String()
			path := filepath.Join("testdata", "aggregate_"+d.Name+".sql")
			golden.Check(t, path, []byte(got))
		})
	}
}

func TestPlanAggregateErrors(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	d := DuckDB()
	for _, tc := range []struct {
		name string
		q    store.AggregateQuery
		want string
	}{
		{"empty range", store.AggregateQuery{Start: start, End: start}, "empty time range"},
		{"bad percentile", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcPercentile, Column: "x", Percentile: 1.5}}}, "percentile"},
		{"order by heatmap", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcHeatmap, Column: "x"}},
			Orders: []store.AggOrder{{Calc: &store.Calc{Op: store.CalcHeatmap, Column: "x"}}}}, "HEATMAP"},
		{"order by unknown breakdown", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Orders: []store.AggOrder{{Breakdown: "x"}}}, "not a breakdown"},
		{"bad filter", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Filters: []store.Filter{{Column: "x", Op: "~"}}}, "unknown filter operator"},
		{"too many buckets", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Granularity: time.Millisecond}, "buckets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.PlanAggregate(tc.q, aggSource(d))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
