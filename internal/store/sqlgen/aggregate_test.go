package sqlgen

import (
	"fmt"
	"path/filepath"
	"strconv"
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
		Trace: &TraceColumns{Key: []string{d.Quote("trace_hi"), d.Quote("trace_lo")}, SpanID: d.Quote("span_id"), ParentID: d.Quote("parent_id"),
			IsRoot: d.Quote("span_id") + " IS NOT NULL AND " + d.Quote("parent_id") + " IS NULL", Margin: time.Hour},
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
		{"calc_filters_series", store.AggregateQuery{Breakdowns: []string{"name"}, Granularity: time.Minute,
			Calcs: []store.Calc{count, {Op: store.CalcCount, Filter: 1}, {Op: store.CalcAvg, Column: "duration_ms", Filter: 2},
				{Op: store.CalcCountDistinct, Column: "http.status", Filter: 1}, {Op: store.CalcRateMax, Column: "duration_ms", Filter: 2}},
			Havings: []store.Having{{Calc: store.Calc{Op: store.CalcCount, Filter: 1}, Op: store.OpGt, Value: 0}},
			CalcFilters: []store.FilterSet{
				{Filters: []store.Filter{{Column: "http.status", Op: store.OpGe, Value: model.Int(500)}}},
				{Filters: []store.Filter{{Column: "name", Op: store.OpEq, Value: model.Str("GET /")}, {Column: "rare", Op: store.OpExists}}, Combination: store.Or},
			}}},
		{"calc_filter_usage_mode", store.AggregateQuery{UsageMode: true, Calcs: []store.Calc{{Op: store.CalcCount, Filter: 1}, {Op: store.CalcSum, Column: "rare", Filter: 1}},
			CalcFilters: []store.FilterSet{{Filters: []store.Filter{{Column: "name", Op: store.OpStartsWith, Value: model.Str("GET")}}}}}},
		{"derived_text_and_time", store.AggregateQuery{Breakdowns: []string{"route", "day", "kind"},
			Calcs: []store.Calc{{Op: store.CalcMax, Column: "parts"}, {Op: store.CalcMin, Column: "sent"}},
			CalculatedFields: []store.CalculatedField{
				{Name: "route", Expr: fn("IF", fn("REG_MATCH", col("name"), str(`^GET `)), fn("REG_VALUE", col("name"), str(`^GET (/[a-z]*)`)),
					fn("EXISTS", col("rare")), str("rare"), str("other"))},
				{Name: "parts", Expr: fn("REG_COUNT", col("name"), str(`/`))},
				{Name: "day", Expr: fn("FORMAT_TIME", str("%F %e|%k %A"), col("duration_ms"))},
				{Name: "sent", Expr: fn("UNIX_TIMESTAMP", col("name"))},
				{Name: "kind", Expr: fn("SWITCH", col("http.status"), str("200"), str("ok"), str("500"), str("error"), str("?"))},
			}}},
		{"relational", store.AggregateQuery{Breakdowns: []string{"root.name", "parent.http.status", "any.name"},
			Filters: []store.Filter{{Column: "root.name", Op: store.OpEq, Value: model.Str("GET /")}, {Column: "parent.rare", Op: store.OpGt, Value: model.Float(1.5)},
				{Column: "any.rare", Op: store.OpExists}, {Column: "none.name", Op: store.OpEq, Value: model.Str("retry")}, {Column: "name", Op: store.OpExists}}}},
	}
	for _, dc := range []struct {
		name string
		d    Dialect
	}{{"duckdb", DuckDB()}, {"clickhouse", ClickHouse()}, {"clickhouse18", ClickHouseWithout("quantileExactLow", "countMatches", "window", "DateTime64")}} {
		d := dc.d
		t.Run(dc.name, func(t *testing.T) {
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
			path := filepath.Join("testdata", "aggregate_"+dc.name+".sql")
			golden.Check(t, path, []byte(got))
		})
	}
}

func col(c string) store.Expr { return store.Expr{Column: c} }

func str(s string) store.Expr {
	v := model.Str(s)
	return store.Expr{Lit: &v}
}

func fn(name string, args ...store.Expr) store.Expr { return store.Expr{Func: name, Args: args} }

// derived is a query of one calculated field, x.
func derived(start time.Time, x store.Expr) store.AggregateQuery {
	return store.AggregateQuery{Start: start, End: start.Add(time.Hour), CalculatedFields: []store.CalculatedField{{Name: "x", Expr: x}}}
}

func TestTimeFormatParts(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{"%Y-%m-%d", `%Y "-" %m "-" %d`},
		{"%F %T", `%Y "-" %m "-" %d " " %H ":" %M ":" %S`},
		{"%c", `%a " " %b " " %e " " %H ":" %M ":" %S " " %Y`},
		{"%%%n%t%z %Z.", `"%\n\t+0000 UTC."`},
		{"at %k%%", `"at " %k "%"`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			parts, err := timeFormatParts(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range parts {
				if p.conv != 0 {
					got = append(got, "%"+string(p.conv))
				} else {
					got = append(got, strconv.Quote(p.text))
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("got  %s\nwant %s", g, tc.want)
			}
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
		{"regular expression not a literal", derived(start, fn("REG_MATCH", col("name"), col("name"))), "REG_MATCH: the regular expression must be a string literal"},
		{"bad regular expression", derived(start, fn("REG_COUNT", col("name"), str("a("))), "REG_COUNT: error parsing regexp"},
		{"time format not a literal", derived(start, fn("FORMAT_TIME", col("name"), col("duration_ms"))), "FORMAT_TIME: the format must be a string literal"},
		{"unsupported time conversion", derived(start, fn("FORMAT_TIME", str("%Y %s"), col("duration_ms"))), "FORMAT_TIME: unsupported conversion %s"},
		{"time format ends in %", derived(start, fn("FORMAT_TIME", str("%Y%"), col("duration_ms"))), "lone %"},
		{"no such calculation filter", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcCount, Filter: 1}}}, "no calculation filter 1"},
		{"heatmap with a calculation filter", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcHeatmap, Column: "x", Filter: 1}},
			CalcFilters: []store.FilterSet{{Filters: []store.Filter{{Column: "x", Op: store.OpExists}}}}}, "HEATMAP takes no calculation filter"},
		{"bad calculation filter", store.AggregateQuery{Start: start, End: start.Add(time.Hour), Calcs: []store.Calc{{Op: store.CalcCount, Filter: 1}},
			CalcFilters: []store.FilterSet{{Filters: []store.Filter{{Column: "x", Op: "~"}}}}}, "calculation filter 1: filter 0 (x ~): unknown filter operator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.PlanAggregate(tc.q, aggSource(d))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
