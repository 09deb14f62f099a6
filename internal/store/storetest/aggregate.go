package storetest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// RunAggregate runs the aggregate conformance suite: every calculation,
// every filter operator, breakdowns, orders, havings, limits, datasets,
// sample-rate scaling, heatmaps and time series, against known data. open
// returns a new empty store (which must implement store.Aggregator) and
// arranges for it to be closed.
//
// The data: dataset "api" has ten spans i = 1…10 starting at base+10·i ms,
// lasting 10·i ms, named "GET /a" (i ≤ 6) or "GET /b"; http.status_code
// (int) is 500 and error is true when i is a multiple of 3, else 200;
// user (string) is "u<i mod 4>"; size (float) is 1.5·i for i ≤ 8; flag
// (bool) is true for even i. Dataset "sampled" has three spans of 10, 20,
// 30 ms with sample rates 1, 2, 3. Environment "other" has one span that
// must never be counted in "test".
func RunAggregate(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	agg, ok := s.(store.Aggregator)
	if !ok {
		t.Fatalf("%T does not implement store.Aggregator", s)
	}
	var api []model.Event
	for i := 1; i <= 10; i++ {
		name := "GET /a"
		if i > 6 {
			name = "GET /b"
		}
		status := int64(200)
		if i%3 == 0 {
			status = 500
		}
		attrs := []model.Attr{
			a("http.status_code", model.Int(status)),
			a("user", model.Str(fmt.Sprintf("u%d", i%4))),
		}
		if i <= 8 {
			attrs = append(attrs, a("size", model.Float(1.5*float64(i))))
		}
		if i%2 == 0 {
			attrs = append(attrs, a("flag", model.Bool(true)))
		}
		e := span("api", tid(uint64(100+i)), sid(uint64(i)), model.SpanID{}, base.Add(time.Duration(i)*10*time.Millisecond), name, attrs...)
		e.DurationMs = float64(10 * i)
		e.Error = status == 500
		if e.Error {
			e.StatusCode = 2
		}
		api = append(api, e)
	}
	write(t, s, "test", api...)
	var sampled []model.Event
	for i := 1; i <= 3; i++ {
		e := span("sampled", tid(uint64(200+i)), sid(uint64(i)), model.SpanID{}, base.Add(time.Duration(i)*time.Second), "work")
		e.DurationMs = float64(10 * i)
		e.SampleRate = int64(i)
		sampled = append(sampled, e)
	}
	write(t, s, "test", sampled...)
	write(t, s, "other", span("api", tid(300), sid(1), model.SpanID{}, base.Add(20*time.Millisecond), "GET /a",
		a("user", model.Str("u1"))))

	apiQ := func() store.AggregateQuery {
		return store.AggregateQuery{Start: base, End: base.Add(time.Second), Datasets: []string{"api"}}
	}
	run := func(t *testing.T, q store.AggregateQuery) store.AggregateResult {
		t.Helper()
		res, err := agg.Aggregate(context.Background(), "test", q)
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		return res
	}
	one := func(t *testing.T, q store.AggregateQuery) store.CalcValue {
		t.Helper()
		res := run(t, q)
		if len(res.Rows) != 1 {
			t.Fatalf("got %d rows, want 1: %+v", len(res.Rows), res.Rows)
		}
		return res.Rows[0].Values[0]
	}

	t.Run("Calculations", func(t *testing.T) {
		null := math.NaN()
		tests := []struct {
			calc store.Calc
			want float64 // NaN: null
		}{
			{store.Calc{Op: store.CalcCount}, 10},
			{store.Calc{Op: store.CalcSum, Column: "duration_ms"}, 550},
			{store.Calc{Op: store.CalcAvg, Column: "duration_ms"}, 55},
			{store.Calc{Op: store.CalcMin, Column: "duration_ms"}, 10},
			{store.Calc{Op: store.CalcMax, Column: "duration_ms"}, 100},
			{store.Calc{Op: store.CalcSum, Column: "size"}, 54},
			{store.Calc{Op: store.CalcAvg, Column: "size"}, 6.75},
			{store.Calc{Op: store.CalcMin, Column: "size"}, 1.5},
			{store.Calc{Op: store.CalcMax, Column: "size"}, 12},
			{store.Calc{Op: store.CalcSum, Column: "http.status_code"}, 7*200 + 3*500},
			{store.Calc{Op: store.CalcCountDistinct, Column: "user"}, 4},
			{store.Calc{Op: store.CalcCountDistinct, Column: "http.status_code"}, 2},
			{store.Calc{Op: store.CalcCountDistinct, Column: "name"}, 2},
			{store.Calc{Op: store.CalcCountDistinct, Column: "no.such.field"}, 0},
			{store.Calc{Op: store.CalcSum, Column: "no.such.field"}, null},
			{store.Calc{Op: store.CalcAvg, Column: "user"}, null}, // strings are not numbers
			{store.Calc{Op: store.CalcConcurrency}, 5},
		}
		// Nearest rank over 10, 20, …, 100: the ceil(p·10)-th value.
		for _, pc := range []struct {
			p    float64
			want float64
		}{
			{0.001, 10}, {0.01, 10}, {0.05, 10}, {0.10, 10}, {0.20, 20}, {0.25, 30}, {0.50, 50},
			{0.75, 80}, {0.80, 80}, {0.90, 90}, {0.95, 100}, {0.99, 100}, {0.999, 100},
		} {
			tests = append(tests, struct {
				calc store.Calc
				want float64
			}{store.Calc{Op: store.CalcPercentile, Column: "duration_ms", Percentile: pc.p}, pc.want})
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s(%s)%g", tc.calc.Op, tc.calc.Column, tc.calc.Percentile), func(t *testing.T) {
				q := apiQ()
				q.Calcs = []store.Calc{tc.calc}
				checkValue(t, one(t, q), tc.want)
			})
		}
	})

	t.Run("Filters", func(t *testing.T) {
		f := func(col string, op store.Op, v model.Value) store.Filter {
			return store.Filter{Column: col, Op: op, Value: v}
		}
		in := func(col string, op store.Op, vs ...model.Value) store.Filter {
			return store.Filter{Column: col, Op: op, Values: vs}
		}
		tests := []struct {
			name    string
			filters []store.Filter
			comb    store.Combination
			want    float64
		}{
			{"eq", []store.Filter{f("name", store.OpEq, model.Str("GET /a"))}, store.And, 6},
			{"ne", []store.Filter{f("name", store.OpNe, model.Str("GET /a"))}, store.And, 4},
			{"gt", []store.Filter{f("http.status_code", store.OpGt, model.Int(200))}, store.And, 3},
			{"ge", []store.Filter{f("http.status_code", store.OpGe, model.Int(200))}, store.And, 10},
			{"lt", []store.Filter{f("http.status_code", store.OpLt, model.Int(500))}, store.And, 7},
			{"le", []store.Filter{f("http.status_code", store.OpLe, model.Int(200))}, store.And, 7},
			{"eq string value on int", []store.Filter{f("http.status_code", store.OpEq, model.Str("500"))}, store.And, 3},
			{"gt float", []store.Filter{f("size", store.OpGt, model.Int(6))}, store.And, 4},
			{"ne float counts missing", []store.Filter{f("size", store.OpNe, model.Float(3))}, store.And, 9},
			{"ge fractional on hot", []store.Filter{f("duration_ms", store.OpGe, model.Float(50.5))}, store.And, 5},
			{"starts-with", []store.Filter{f("user", store.OpStartsWith, model.Str("u1"))}, store.And, 3},
			{"does-not-start-with", []store.Filter{f("user", store.OpNotStartsWith, model.Str("u1"))}, store.And, 7},
			{"ends-with", []store.Filter{f("user", store.OpEndsWith, model.Str("2"))}, store.And, 3},
			{"does-not-end-with", []store.Filter{f("user", store.OpNotEndsWith, model.Str("2"))}, store.And, 7},
			{"contains", []store.Filter{f("user", store.OpContains, model.Str("u"))}, store.And, 10},
			{"does-not-contain", []store.Filter{f("user", store.OpNotContains, model.Str("3"))}, store.And, 8},
			{"exists", []store.Filter{{Column: "size", Op: store.OpExists}}, store.And, 8},
			{"does-not-exist", []store.Filter{{Column: "size", Op: store.OpNotExists}}, store.And, 2},
			{"in", []store.Filter{in("user", store.OpIn, model.Str("u0"), model.Str("u1"))}, store.And, 5},
			{"not-in", []store.Filter{in("user", store.OpNotIn, model.Str("u0"), model.Str("u1"))}, store.And, 5},
			{"in ints", []store.Filter{in("http.status_code", store.OpIn, model.Int(500), model.Int(404))}, store.And, 3},
			{"error = true", []store.Filter{f("error", store.OpEq, model.Bool(true))}, store.And, 3},
			{"bool attr", []store.Filter{f("flag", store.OpEq, model.Bool(true))}, store.And, 5},
			{"missing field eq", []store.Filter{f("no.such.field", store.OpEq, model.Str("x"))}, store.And, 0},
			{"missing field ne", []store.Filter{f("no.such.field", store.OpNe, model.Str("x"))}, store.And, 10},
			{"and", []store.Filter{f("name", store.OpEq, model.Str("GET /a")), f("error", store.OpEq, model.Bool(true))}, store.And, 2},
			{"or", []store.Filter{f("name", store.OpEq, model.Str("GET /b")), f("error", store.OpEq, model.Bool(true))}, store.Or, 6},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := apiQ()
				q.Calcs = []store.Calc{{Op: store.CalcCount}}
				q.Filters, q.Combination = tc.filters, tc.comb
				res := run(t, q)
				got := 0.0
				if len(res.Rows) == 1 {
					got = res.Rows[0].Values[0].Num
				} else if len(res.Rows) > 1 {
					t.Fatalf("got %d rows", len(res.Rows))
				}
				if got != tc.want {
					t.Fatalf("COUNT = %v, want %v", got, tc.want)
				}
			})
		}
	})

	t.Run("Breakdowns", func(t *testing.T) {
		count := store.Calc{Op: store.CalcCount}
		p99 := store.Calc{Op: store.CalcPercentile, Column: "duration_ms", Percentile: 0.99}
		tests := []struct {
			name string
			mod  func(q *store.AggregateQuery)
			want string // rows as "group…=values…" joined by "; "
		}{
			{"by name, default order COUNT desc", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count, p99}
			}, "GET /a=6,60; GET /b=4,100"},
			{"order by breakdown desc", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count}
				q.Orders = []store.AggOrder{{Breakdown: "name", Desc: true}}
			}, "GET /b=4; GET /a=6"},
			{"order by calc asc", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count}
				q.Orders = []store.AggOrder{{Calc: &count}}
			}, "GET /b=4; GET /a=6"},
			{"order by a calc not selected", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count}
				q.Orders = []store.AggOrder{{Calc: &store.Calc{Op: store.CalcMax, Column: "duration_ms"}, Desc: true}}
			}, "GET /b=4; GET /a=6"},
			{"int breakdown", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"http.status_code"}
				q.Calcs = []store.Calc{count}
			}, "200=7; 500=3"},
			{"two breakdowns", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name", "error"}
				q.Calcs = []store.Calc{count}
				q.Orders = []store.AggOrder{{Breakdown: "name"}, {Breakdown: "error"}}
			}, "GET /a,true=2; GET /a,<nil>=4; GET /b,true=1; GET /b,<nil>=3"},
			{"missing values group as null, last", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"flag"}
				q.Calcs = []store.Calc{count}
			}, "true=5; <nil>=5"},
			{"having", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count}
				q.Havings = []store.Having{{Calc: count, Op: store.OpGt, Value: 4}}
			}, "GET /a=6"},
			{"having on another calc", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count}
				q.Havings = []store.Having{{Calc: store.Calc{Op: store.CalcMin, Column: "duration_ms"}, Op: store.OpGe, Value: 70}}
			}, "GET /b=4"},
			{"limit", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"user"}
				q.Calcs = []store.Calc{count}
				q.Limit = 2
			}, "u1=3; u2=3"},
			{"concurrency by name", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{{Op: store.CalcConcurrency}}
			}, "GET /b=4; GET /a=3"},
			{"having on concurrency", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.Calcs = []store.Calc{count, {Op: store.CalcConcurrency}}
				q.Havings = []store.Having{{Calc: store.Calc{Op: store.CalcConcurrency}, Op: store.OpLt, Value: 4}}
			}, "GET /a=6,3"},
			{"breakdown of a missing field", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"no.such.field"}
				q.Calcs = []store.Calc{count}
			}, "<nil>=10"},
			{"all datasets", func(q *store.AggregateQuery) {
				q.Datasets = nil
				q.End = base.Add(time.Minute)
				q.Breakdowns = []string{"service.name"}
				q.Calcs = []store.Calc{{Op: store.CalcCount}}
				q.UsageMode = true
			}, "api=10; sampled=3"},
			{"unknown dataset", func(q *store.AggregateQuery) {
				q.Datasets = []string{"nope"}
			}, ""},
			{"time range excludes", func(q *store.AggregateQuery) {
				q.Start = base.Add(35 * time.Millisecond)
				q.End = base.Add(75 * time.Millisecond)
				q.Calcs = []store.Calc{count}
			}, "=4"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := apiQ()
				tc.mod(&q)
				if got := showRows(run(t, q).Rows); got != tc.want {
					t.Fatalf("rows:\n got  %s\n want %s", got, tc.want)
				}
			})
		}
	})

	t.Run("SampleRate", func(t *testing.T) {
		tests := []struct {
			calc  store.Calc
			usage bool
			want  float64
		}{
			{store.Calc{Op: store.CalcCount}, false, 6},
			{store.Calc{Op: store.CalcCount}, true, 3},
			{store.Calc{Op: store.CalcSum, Column: "duration_ms"}, false, 140},
			{store.Calc{Op: store.CalcSum, Column: "duration_ms"}, true, 60},
			{store.Calc{Op: store.CalcAvg, Column: "duration_ms"}, false, 140.0 / 6},
			{store.Calc{Op: store.CalcAvg, Column: "duration_ms"}, true, 20},
			{store.Calc{Op: store.CalcMax, Column: "duration_ms"}, false, 30},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s usage=%v", tc.calc.Op, tc.usage), func(t *testing.T) {
				q := store.AggregateQuery{Start: base, End: base.Add(time.Minute), Datasets: []string{"sampled"},
					Calcs: []store.Calc{tc.calc}, UsageMode: tc.usage}
				checkValue(t, one(t, q), tc.want)
			})
		}
		t.Run("heatmap weighted", func(t *testing.T) {
			q := store.AggregateQuery{Start: base, End: base.Add(time.Minute), Datasets: []string{"sampled"},
				Calcs: []store.Calc{{Op: store.CalcHeatmap, Column: "duration_ms"}}, HeatmapBuckets: 2}
			h := one(t, q).Heatmap
			if h == nil || len(h.Buckets) != 2 || h.Buckets[0].Count != 1 || h.Buckets[1].Count != 5 {
				t.Fatalf("heatmap = %+v, want counts 1, 5", h)
			}
		})
	})

	t.Run("Heatmap", func(t *testing.T) {
		q := apiQ()
		q.Calcs = []store.Calc{{Op: store.CalcCount}, {Op: store.CalcHeatmap, Column: "duration_ms"}}
		q.Breakdowns = []string{"name"}
		q.HeatmapBuckets = 9
		res := run(t, q)
		if len(res.Rows) != 2 {
			t.Fatalf("got %d rows", len(res.Rows))
		}
		want := map[string][]float64{
			"GET /a": {1, 1, 1, 1, 1, 1, 0, 0, 0},
			"GET /b": {0, 0, 0, 0, 0, 0, 1, 1, 2},
		}
		for _, r := range res.Rows {
			h := r.Values[1].Heatmap
			if h == nil {
				t.Fatalf("row %v: no heatmap", r.Group)
			}
			var counts []float64
			sum := 0.0
			for i, b := range h.Buckets {
				counts = append(counts, b.Count)
				sum += b.Count
				if math.Abs(b.Lower-(10+10*float64(i))) > 1e-9 || math.Abs(b.Upper-(20+10*float64(i))) > 1e-9 {
					t.Fatalf("bucket %d = [%v, %v), want [%v, %v)", i, b.Lower, b.Upper, 10+10*i, 20+10*i)
				}
			}
			if fmt.Sprint(counts) != fmt.Sprint(want[r.Group[0].(string)]) {
				t.Fatalf("%v: counts %v, want %v", r.Group[0], counts, want[r.Group[0].(string)])
			}
			if sum != r.Values[0].Num {
				t.Fatalf("%v: heatmap sums to %v, COUNT is %v", r.Group[0], sum, r.Values[0].Num)
			}
		}
	})

	t.Run("Series", func(t *testing.T) {
		q := apiQ()
		q.End = base.Add(150 * time.Millisecond)
		q.Granularity = 50 * time.Millisecond
		q.HeatmapBuckets = 3
		q.Calcs = []store.Calc{
			{Op: store.CalcCount},
			{Op: store.CalcHeatmap, Column: "duration_ms"},
			{Op: store.CalcRateSum, Column: "duration_ms"},
			{Op: store.CalcRateMax, Column: "duration_ms"},
			{Op: store.CalcRateAvg, Column: "duration_ms"},
			{Op: store.CalcConcurrency},
		}
		res := run(t, q)
		if len(res.Rows) != 1 {
			t.Fatalf("got %d rows", len(res.Rows))
		}
		row := res.Rows[0].Values
		checkValue(t, row[0], 10)
		// Buckets fall on multiples of 50 ms since the epoch: base is
		// …07.123456789, so they start at …07.100, .150, .200 and hold
		// spans 1–2, 3–7 and 8–10.
		checkValue(t, row[2], 2400) // sums 30, 250, 270: rates 4400, 400
		checkValue(t, row[3], 800)  // maxima 20, 70, 100: rates 1000, 600
		checkValue(t, row[4], 750)  // means 15, 50, 90: rates 700, 800
		checkValue(t, row[5], 5)
		// The fourth bucket (…07.250) has no span starting in it, but three
		// spans still in progress: it is there for CONCURRENCY.
		if len(res.Series) != 4 {
			t.Fatalf("got %d series points, want 4: %+v", len(res.Series), res.Series)
		}
		wantCounts := []float64{2, 5, 3, 0}
		wantRateSum := []float64{math.NaN(), 4400, 400, math.NaN()}
		wantConc := []float64{1, 4, 5, 3}
		total := 0.0
		for i, pt := range res.Series {
			origin := time.Unix(0, base.UnixNano()/int64(q.Granularity)*int64(q.Granularity))
			if want := origin.Add(time.Duration(i) * 50 * time.Millisecond); !pt.Time.Equal(want) {
				t.Fatalf("point %d at %v, want %v", i, pt.Time, want)
			}
			checkValue(t, pt.Values[0], wantCounts[i])
			checkValue(t, pt.Values[2], wantRateSum[i])
			checkValue(t, pt.Values[5], wantConc[i])
			hsum := 0.0
			for _, b := range pt.Values[1].Heatmap.Buckets {
				hsum += b.Count
			}
			if hsum != pt.Values[0].Num {
				t.Fatalf("point %d: heatmap sums to %v, COUNT %v", i, hsum, pt.Values[0].Num)
			}
			total += pt.Values[0].Num
		}
		if total != row[0].Num {
			t.Fatalf("series counts sum to %v, COUNT is %v", total, row[0].Num)
		}
	})

	t.Run("CalcFilters", func(t *testing.T) {
		count := store.Calc{Op: store.CalcCount}
		errs := store.Calc{Op: store.CalcCount, Filter: 1}
		isErr := store.FilterSet{Filters: []store.Filter{{Column: "error", Op: store.OpEq, Value: model.Bool(true)}}}
		u1OrFlag := store.FilterSet{Combination: store.Or, Filters: []store.Filter{
			{Column: "user", Op: store.OpEq, Value: model.Str("u1")}, {Column: "flag", Op: store.OpEq, Value: model.Bool(true)}}}
		none := store.FilterSet{Filters: []store.Filter{{Column: "http.status_code", Op: store.OpEq, Value: model.Int(404)}}}
		tests := []struct {
			name string
			mod  func(q *store.AggregateQuery)
			want string
		}{
			// GET /a is i = 1…6 (errors 3, 6; u1 or flag: 1, 2, 4, 5, 6),
			// GET /b is i = 7…10 (error 9; u1 or flag: 8, 9, 10).
			{"each calculation its own filter, OR combination", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.CalcFilters = []store.FilterSet{isErr, u1OrFlag}
				q.Calcs = []store.Calc{count, errs, {Op: store.CalcAvg, Column: "duration_ms", Filter: 2}}
			}, "GET /a=6,2,36; GET /b=4,1,90"},
			{"same op and column, filtered and not", func(q *store.AggregateQuery) {
				q.CalcFilters = []store.FilterSet{isErr}
				q.Calcs = []store.Calc{{Op: store.CalcMax, Column: "duration_ms"}, {Op: store.CalcMax, Column: "duration_ms", Filter: 1},
					{Op: store.CalcCountDistinct, Column: "user", Filter: 1}, {Op: store.CalcPercentile, Column: "duration_ms", Percentile: 0.5, Filter: 1}}
			}, "=100,90,3,60"},
			{"on top of the query's filters", func(q *store.AggregateQuery) {
				q.Filters = []store.Filter{{Column: "name", Op: store.OpEq, Value: model.Str("GET /b")}}
				q.CalcFilters = []store.FilterSet{isErr}
				q.Calcs = []store.Calc{errs, {Op: store.CalcSum, Column: "duration_ms", Filter: 1}}
			}, "=1,90"},
			{"nothing passes: COUNT 0, SUM null", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.CalcFilters = []store.FilterSet{none}
				q.Calcs = []store.Calc{{Op: store.CalcCount, Filter: 1}, {Op: store.CalcSum, Column: "duration_ms", Filter: 1}}
			}, "GET /a=0,null; GET /b=0,null"},
			{"order by a filtered calculation", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.CalcFilters = []store.FilterSet{isErr}
				q.Calcs = []store.Calc{count, errs}
				q.Orders = []store.AggOrder{{Calc: &errs}}
			}, "GET /b=4,1; GET /a=6,2"},
			{"having on a filtered calculation", func(q *store.AggregateQuery) {
				q.Breakdowns = []string{"name"}
				q.CalcFilters = []store.FilterSet{isErr}
				q.Calcs = []store.Calc{count, errs}
				q.Havings = []store.Having{{Calc: errs, Op: store.OpGt, Value: 1}}
			}, "GET /a=6,2"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := apiQ()
				tc.mod(&q)
				if got := showRows(run(t, q).Rows); got != tc.want {
					t.Fatalf("got %s, want %s", got, tc.want)
				}
			})
		}
		t.Run("sample rate", func(t *testing.T) {
			// Spans of 10, 20, 30 ms with sample rates 1, 2, 3.
			q := store.AggregateQuery{Start: base, End: base.Add(time.Minute), Datasets: []string{"sampled"},
				CalcFilters: []store.FilterSet{{Filters: []store.Filter{{Column: "duration_ms", Op: store.OpGe, Value: model.Int(20)}}}},
				Calcs:       []store.Calc{{Op: store.CalcCount, Filter: 1}, {Op: store.CalcSum, Column: "duration_ms", Filter: 1}}}
			if got, want := showRows(run(t, q).Rows), "=5,130"; got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
			q.UsageMode = true
			if got, want := showRows(run(t, q).Rows), "=2,50"; got != want {
				t.Fatalf("usage mode: got %s, want %s", got, want)
			}
		})
		t.Run("series", func(t *testing.T) {
			// Buckets of 50 ms hold spans 1–2, 3–7 and 8–10 (see Series).
			q := apiQ()
			q.End = base.Add(150 * time.Millisecond)
			q.Granularity = 50 * time.Millisecond
			q.CalcFilters = []store.FilterSet{isErr}
			q.Calcs = []store.Calc{count, errs, {Op: store.CalcRateSum, Column: "duration_ms", Filter: 1}}
			res := run(t, q)
			// Error durations per bucket: none (null), 30+60, 90: the one
			// rate is (90-90)/0.05 s.
			if got, want := showRows(res.Rows), "=10,3,0"; got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
			var pts []store.Row
			for _, pt := range res.Series {
				pts = append(pts, pt.Row)
			}
			if got, want := showRows(pts), "=2,0,null; =5,2,null; =3,1,0"; got != want {
				t.Fatalf("series: got %s, want %s", got, want)
			}
		})
	})

	t.Run("CalculatedFields", func(t *testing.T) {
		col := func(c string) store.Expr { return store.Expr{Column: c} }
		lit := func(v model.Value) store.Expr { return store.Expr{Lit: &v} }
		fn := func(name string, args ...store.Expr) store.Expr { return store.Expr{Func: name, Args: args} }
		count := store.Calc{Op: store.CalcCount}
		tests := []struct {
			name   string
			fields []store.CalculatedField
			mod    func(q *store.AggregateQuery)
			want   string
		}{
			{"IF in a breakdown", []store.CalculatedField{{Name: "speed", Expr: fn("IF", fn("GTE", col("duration_ms"), lit(model.Int(50))), lit(model.Str("slow")), lit(model.Str("fast")))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"speed"} }, "slow=6; fast=4"},
			{"arithmetic in a filter", []store.CalculatedField{{Name: "tens", Expr: fn("DIV", col("duration_ms"), lit(model.Int(10)))}},
				func(q *store.AggregateQuery) {
					q.Filters = []store.Filter{{Column: "tens", Op: store.OpGt, Value: model.Int(5)}}
				}, "=5"},
			{"SUM of MUL", []store.CalculatedField{{Name: "double", Expr: fn("MUL", col("size"), lit(model.Float(2)))}},
				func(q *store.AggregateQuery) { q.Calcs = []store.Calc{{Op: store.CalcSum, Column: "double"}} }, "=108"},
			{"CONCAT equals", []store.CalculatedField{{Name: "shout", Expr: fn("CONCAT", col("name"), lit(model.Str("!")))}},
				func(q *store.AggregateQuery) {
					q.Filters = []store.Filter{{Column: "shout", Op: store.OpEq, Value: model.Str("GET /a!")}}
				}, "=6"},
			{"EXISTS breakdown", []store.CalculatedField{{Name: "sized", Expr: fn("EXISTS", col("size"))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"sized"} }, "true=8; false=2"},
			{"COALESCE", []store.CalculatedField{{Name: "size0", Expr: fn("COALESCE", col("size"), lit(model.Int(0)))}},
				func(q *store.AggregateQuery) {
					q.Calcs = []store.Calc{{Op: store.CalcMin, Column: "size0"}, {Op: store.CalcSum, Column: "size0"}}
				}, "=0,54"},
			{"chained INT bucket", []store.CalculatedField{
				{Name: "thirds", Expr: fn("DIV", col("duration_ms"), lit(model.Int(30)))},
				{Name: "bucket", Expr: fn("INT", col("thirds"))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"bucket"}
					q.Orders = []store.AggOrder{{Breakdown: "bucket"}}
				}, "0=2; 1=3; 2=3; 3=2"},
			{"string functions", []store.CalculatedField{{Name: "short", Expr: fn("AND",
				fn("EQUALS", fn("LENGTH", col("user")), lit(model.Int(2))),
				fn("STARTS_WITH", fn("TO_UPPER", col("user")), lit(model.Str("U"))),
				fn("NOT", fn("CONTAINS", col("user"), lit(model.Str("3")))))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"short"} }, "true=8; false=2"},
			{"IN, LT, MAX", []store.CalculatedField{{Name: "x", Expr: fn("IF", fn("OR",
				fn("IN", col("user"), lit(model.Str("u0")), lit(model.Str("u1"))),
				fn("LT", fn("MAX", col("duration_ms"), lit(model.Int(20))), lit(model.Int(25)))), lit(model.Int(1)), lit(model.Int(0)))}},
				func(q *store.AggregateQuery) { q.Calcs = []store.Calc{{Op: store.CalcSum, Column: "x"}} }, "=6"},
			{"IF with several conditions", []store.CalculatedField{{Name: "speed", Expr: fn("IF",
				fn("LT", col("duration_ms"), lit(model.Int(30))), lit(model.Str("short")),
				fn("LT", col("duration_ms"), lit(model.Int(70))), lit(model.Str("mid")),
				lit(model.Str("long")))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"speed"}
					q.Orders = []store.AggOrder{{Breakdown: "speed"}}
				}, "long=4; mid=4; short=2"},
			{"IF with several conditions and no default", []store.CalculatedField{{Name: "edge", Expr: fn("IF",
				fn("LT", col("duration_ms"), lit(model.Int(30))), lit(model.Str("short")),
				fn("GT", col("duration_ms"), lit(model.Int(80))), lit(model.Str("long")))}},
				func(q *store.AggregateQuery) {
					q.Filters = []store.Filter{{Column: "edge", Op: store.OpExists}}
				}, "=4"},
			{"SWITCH with a default", []store.CalculatedField{{Name: "who", Expr: fn("SWITCH", col("user"),
				lit(model.Str("u1")), lit(model.Str("one")), lit(model.Str("u2")), lit(model.Str("two")), lit(model.Str("other")))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"who"}
					q.Orders = []store.AggOrder{{Breakdown: "who"}}
				}, "one=3; other=4; two=3"},
			{"SWITCH without a default is null", []store.CalculatedField{
				{Name: "failed", Expr: fn("SWITCH", col("http.status_code"), lit(model.Int(500)), lit(model.Int(1)))},
				{Name: "known", Expr: fn("EXISTS", col("failed"))}},
				func(q *store.AggregateQuery) {
					q.Calcs = []store.Calc{{Op: store.CalcSum, Column: "failed"}}
					q.Breakdowns = []string{"known"}
					q.Orders = []store.AggOrder{{Breakdown: "known"}}
				}, "false=null; true=3"},
			{"REG_MATCH", []store.CalculatedField{
				{Name: "odd", Expr: fn("REG_MATCH", col("user"), lit(model.Str(`[13]$`)))},
				{Name: "not string", Expr: fn("REG_MATCH", col("http.status_code"), lit(model.Str(`0`)))},
				{Name: "absent", Expr: fn("REG_MATCH", col("nosuch"), lit(model.Str(`.*`)))},
				{Name: "empty", Expr: fn("REG_MATCH", lit(model.Str("")), lit(model.Str(`^$`)))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"odd", "not string", "absent", "empty"}
					q.Orders = []store.AggOrder{{Breakdown: "odd"}}
				}, "false,false,false,false=5; true,false,false,false=5"},
			{"REG_VALUE is the first group", []store.CalculatedField{{Name: "path", Expr: fn("REG_VALUE", col("name"), lit(model.Str(`^GET /(.)`)))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"path"}
					q.Orders = []store.AggOrder{{Breakdown: "path"}}
				}, "a=6; b=4"},
			{"REG_VALUE without a group is the match", []store.CalculatedField{{Name: "digit", Expr: fn("REG_VALUE", col("user"), lit(model.Str(`[0-9]`)))}},
				func(q *store.AggregateQuery) {
					q.Breakdowns = []string{"digit"}
					q.Orders = []store.AggOrder{{Breakdown: "digit"}}
				}, "0=2; 1=3; 2=3; 3=2"},
			{"REG_VALUE without a match is null", []store.CalculatedField{{Name: "low", Expr: fn("REG_VALUE", col("user"), lit(model.Str(`u([12])`)))}},
				func(q *store.AggregateQuery) {
					q.Filters = []store.Filter{{Column: "low", Op: store.OpExists}}
				}, "=6"},
			{"REG_COUNT", []store.CalculatedField{
				{Name: "n", Expr: fn("REG_COUNT", col("name"), lit(model.Str(`/|a`)))},
				{Name: "not string", Expr: fn("REG_COUNT", col("size"), lit(model.Str(`5`)))}},
				func(q *store.AggregateQuery) {
					q.Calcs = []store.Calc{{Op: store.CalcSum, Column: "n"}, {Op: store.CalcMax, Column: "not string"}}
				}, "=16,0"},
			{"UNIX_TIMESTAMP", []store.CalculatedField{
				{Name: "digit", Expr: fn("REG_VALUE", col("user"), lit(model.Str(`[0-9]`)))},
				{Name: "utc", Expr: fn("UNIX_TIMESTAMP", fn("CONCAT", lit(model.Str("2017-07-20T11:22:4")), col("digit"), lit(model.Str(".5Z"))))},
				{Name: "offset", Expr: fn("UNIX_TIMESTAMP", fn("CONCAT", lit(model.Str("2017-07-20t13:22:4")), col("digit"), lit(model.Str(".5+02:00"))))},
				{Name: "bad", Expr: fn("COALESCE", fn("UNIX_TIMESTAMP", lit(model.Str("2017-07-20 11:22:40"))),
					fn("UNIX_TIMESTAMP", col("http.status_code")), lit(model.Int(-1)))}},
				func(q *store.AggregateQuery) {
					q.Calcs = []store.Calc{{Op: store.CalcMin, Column: "utc"}, {Op: store.CalcMax, Column: "utc"},
						{Op: store.CalcMin, Column: "offset"}, {Op: store.CalcMax, Column: "bad"}}
				}, "=1.5005497605e+09,1.5005497635e+09,1.5005497605e+09,-1"},
			{"FORMAT_TIME conversions", []store.CalculatedField{{Name: "when", Expr: fn("FORMAT_TIME",
				lit(model.Str("%Y-%m-%dT%H:%M:%S %a %A %b %B %j %p %I %e %C %u %w %V %G %g %U %W %y %k %l %z %Z %%")), fn("EVENT_TIMESTAMP"))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"when"} },
				"2026-03-04T05:06:07 Wed Wednesday Mar March 063 AM 05  4 20 3 3 10 2026 26 09 09 26  5  5 +0000 UTC %=10"},
			{"FORMAT_TIME shorthands", []store.CalculatedField{{Name: "when", Expr: fn("FORMAT_TIME",
				lit(model.Str("%D|%F|%T|%R|%r|%c|%x|%X|%h%t.")), fn("EVENT_TIMESTAMP"))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"when"} },
				"03/04/26|2026-03-04|05:06:07|05:06|05:06:07 AM|Wed Mar  4 05:06:07 2026|03/04/26|05:06:07|Mar\t.=10"},
			{"FORMAT_TIME of numbers and non-numbers", []store.CalculatedField{
				{Name: "lit", Expr: fn("FORMAT_TIME", lit(model.Str("%F %T")), lit(model.Float(1500549764.888)))},
				{Name: "text", Expr: fn("COALESCE", fn("FORMAT_TIME", lit(model.Str("%Y")), col("user")), lit(model.Str("none")))},
				{Name: "plain", Expr: fn("FORMAT_TIME", lit(model.Str("day")), col("duration_ms"))}},
				func(q *store.AggregateQuery) { q.Breakdowns = []string{"lit", "text", "plain"} },
				"2017-07-20 11:22:44,none,day=10"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := apiQ()
				q.Calcs = []store.Calc{count}
				q.CalculatedFields = tc.fields
				tc.mod(&q)
				if got := showRows(run(t, q).Rows); got != tc.want {
					t.Fatalf("rows:\n got  %s\n want %s", got, tc.want)
				}
			})
		}
	})

	t.Run("XRaySegmentsAreSpans", func(t *testing.T) {
		var evs []model.Event
		for i := 1; i <= 3; i++ {
			e := span("xray-svc", tid(uint64(500+i)), sid(uint64(i)), model.SpanID{}, base.Add(time.Duration(i)*time.Millisecond), "segment",
				a("http.status", model.Int(int64(200+100*i))))
			e.Source = model.SourceXRay
			e.DurationMs = float64(i)
			evs = append(evs, e)
		}
		write(t, s, "xray", evs...)
		q := store.AggregateQuery{Start: base, End: base.Add(time.Second), Breakdowns: []string{"service.name"},
			Calcs:   []store.Calc{{Op: store.CalcCount}, {Op: store.CalcMax, Column: "duration_ms"}},
			Filters: []store.Filter{{Column: "http.status", Op: store.OpGt, Value: model.Int(300)}}}
		res, err := agg.Aggregate(context.Background(), "xray", q)
		if err != nil {
			t.Fatal(err)
		}
		if got := showRows(res.Rows); got != "xray-svc=2,3" {
			t.Fatalf("rows %s, want xray-svc=2,3", got)
		}
	})

	t.Run("NonFiniteValues", func(t *testing.T) {
		var evs []model.Event
		for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1, 2} {
			evs = append(evs, span("weird", tid(uint64(400+i)), sid(uint64(i+1)), model.SpanID{}, base.Add(time.Duration(i)*time.Millisecond), "w",
				a("x", model.Float(v))))
		}
		evs[0].DurationMs = math.Inf(1)
		write(t, s, "nonfinite", evs...)
		q := store.AggregateQuery{Start: base, End: base.Add(time.Second), HeatmapBuckets: 2, Granularity: 100 * time.Millisecond,
			Calcs: []store.Calc{{Op: store.CalcCount}, {Op: store.CalcHeatmap, Column: "x"}, {Op: store.CalcConcurrency}, {Op: store.CalcSum, Column: "x"}}}
		res, err := agg.Aggregate(context.Background(), "nonfinite", q)
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		if len(res.Rows) != 1 {
			t.Fatalf("rows %+v", res.Rows)
		}
		checkValue(t, res.Rows[0].Values[0], 5)
		h := res.Rows[0].Values[1].Heatmap
		if h == nil || len(h.Buckets) != 2 || h.Buckets[0].Count+h.Buckets[1].Count != 2 {
			t.Fatalf("heatmap of the finite values: %+v", h)
		}
	})

	t.Run("EmptyEnvironment", func(t *testing.T) {
		res, err := agg.Aggregate(context.Background(), "nobody", apiQ())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 0 || len(res.Series) != 0 {
			t.Fatalf("got %+v, want nothing", res)
		}
	})
	t.Run("Relational", func(t *testing.T) { runRelational(t, s, agg) })
}

// checkValue compares a calculation value; NaN wants null.
func checkValue(t *testing.T, got store.CalcValue, want float64) {
	t.Helper()
	if math.IsNaN(want) {
		if !got.Null {
			t.Fatalf("got %v, want null", got.Num)
		}
		return
	}
	if got.Null {
		t.Fatalf("got null, want %v", want)
	}
	if math.Abs(got.Num-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Fatalf("got %v, want %v", got.Num, want)
	}
}

func showRows(rows []store.Row) string {
	var parts []string
	for _, r := range rows {
		var g, v []string
		for _, x := range r.Group {
			g = append(g, fmt.Sprint(x))
		}
		for _, x := range r.Values {
			if x.Null {
				v = append(v, "null")
			} else {
				v = append(v, fmt.Sprint(x.Num))
			}
		}
		parts = append(parts, strings.Join(g, ",")+"="+strings.Join(v, ","))
	}
	return strings.Join(parts, "; ")
}
