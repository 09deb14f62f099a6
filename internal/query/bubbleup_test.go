package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

var bubbleT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The DuckDB store counts every column in one pass.
var _ query.BubbleUpCounter = (*duckdb.Store)(nil)

// aggregateOnly hides the store's BubbleUpCounter: BubbleUp then runs one
// aggregate query per column, the path of stores without it.
type aggregateOnly struct{ a store.Aggregator }

func (g aggregateOnly) Aggregate(ctx context.Context, env string, q store.AggregateQuery) (store.AggregateResult, error) {
	return g.a.Aggregate(ctx, env, q)
}

// paths are the two ways BubbleUp counts, both checked by every test.
func paths(st *duckdb.Store) map[string]store.Aggregator {
	return map[string]store.Aggregator{"single pass": st, "per column": aggregateOnly{st}}
}

// seedBubbleUp writes 1,000 spans 600 ms apart over 10 minutes into env:
// customer cust-40…cust-49 by i%10 (100 each), region by i%3, a unique
// request.id, duration 10 + i%7 ms, ten times that for cust-42.
func seedBubbleUp(t testing.TB, st *duckdb.Store, env string, src model.Source) {
	t.Helper()
	evs := make([]model.Event, 0, 1000)
	for i := range 1000 {
		d := float64(10 + i%7)
		cust := fmt.Sprintf("cust-%d", 40+i%10)
		if cust == "cust-42" {
			d *= 10
		}
		e := model.Event{Dataset: "shop", ServiceName: "shop", Name: "GET /cart", Time: bubbleT0.Add(time.Duration(i) * 600 * time.Millisecond),
			DurationMs: d, SampleRate: 1, Source: src,
			Attrs: []model.Attr{{Key: "customer", Value: model.Str(cust)}, {Key: "region", Value: model.Str([]string{"us", "eu", "ap"}[i%3])},
				{Key: "request.id", Value: model.Str(fmt.Sprintf("req-%04d", i))}}}
		e.TraceID[0], e.TraceID[1], e.SpanID[0], e.SpanID[1] = byte(i), byte(i>>8), byte(i), byte(i>>8)
		evs = append(evs, e)
	}
	if err := st.Write(context.Background(), []store.Batch{{Env: env, Events: evs}}); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "t.duckdb")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func bubblePlan(t testing.TB, start, end time.Time) query.Plan {
	t.Helper()
	s, e := start.Unix(), end.Unix()
	spec := query.Spec{Calculations: []query.CalcSpec{{Op: "HEATMAP", Column: ptr("duration_ms")}}, StartTime: &s, EndTime: &e}
	p, err := spec.Plan(end)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func findValue(c query.BubbleUpColumn, v any) (query.BubbleUpValue, bool) {
	for _, x := range c.Values {
		if x.Value == v {
			return x, true
		}
	}
	return query.BubbleUpValue{}, false
}

// TestBubbleUpPlantedAttribute: the slow events are those of one
// customer; selecting them on the heatmap ranks customer first.
func TestBubbleUpPlantedAttribute(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	cols, err := st.Columns(ctx, "prod", "shop")
	if err != nil {
		t.Fatal(err)
	}
	req := query.BubbleUpRequest{
		Envs: []string{"prod"}, Plan: bubblePlan(t, bubbleT0, bubbleT0.Add(10*time.Minute)), Dataset: "shop", Columns: cols,
		Selection: query.Selection{Column: "duration_ms", Min: ptr(100.0), Max: ptr(200.0)},
	}
	for name, agg := range paths(st) {
		t.Run(name, func(t *testing.T) { checkPlanted(t, agg, req) })
	}
}

func checkPlanted(t *testing.T, agg store.Aggregator, req query.BubbleUpRequest) {
	res, err := query.BubbleUp(context.Background(), agg, req)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-checked: the 100 cust-42 spans (100…160 ms) are selected, the
	// 900 others (10…16 ms) are the baseline.
	if res.Selection != 100 || res.Baseline != 900 {
		t.Fatalf("selection %v baseline %v, want 100 and 900", res.Selection, res.Baseline)
	}
	if len(res.Columns) == 0 || res.Columns[0].Column != "customer" {
		t.Fatalf("first column %+v, want customer", res.Columns)
	}
	c := res.Columns[0]
	if c.Type != "categorical" || !near(c.Score, 1) {
		t.Errorf("customer: type %s score %v, want categorical 1", c.Type, c.Score)
	}
	if c.Values[0].Value != "cust-42" || c.Values[0].Selection != 1 || c.Values[0].Baseline != 0 || c.Values[0].SelectionCount != 100 {
		t.Errorf("customer's first value %+v, want cust-42 with all of the selection and none of the baseline", c.Values[0])
	}
	if v, ok := findValue(c, "cust-47"); !ok || v.Selection != 0 || !near(v.Baseline, 100.0/900) || v.BaselineCount != 100 {
		t.Errorf("cust-47 %+v, want baseline share 100/900", v)
	}
	for _, col := range res.Columns {
		switch col.Column {
		case "duration_ms", "trace.trace_id", "trace.span_id", "trace.parent_id", "request.id":
			t.Errorf("column %s compared; the selection's own column, ids and unique-ish columns are not", col.Column)
		case "region":
			// cust-42 is i ≡ 2 (mod 10): i%3 cycles 2,0,1 → 34 us-ish…
			// counted: us (i%3=0) 33, eu 33, ap 34 of the 100.
			us, _ := findValue(col, "us")
			ap, _ := findValue(col, "ap")
			if us.SelectionCount != 33 || ap.SelectionCount != 34 || !near(us.Baseline, (334-33)/900.0) {
				t.Errorf("region %+v", col.Values)
			}
			if col.Score > 0.05 {
				t.Errorf("region's score %v, want near 0 (spread alike)", col.Score)
			}
		case "service.name", "name":
			if col.Score != 0 {
				t.Errorf("%s score %v, want 0 (one value everywhere)", col.Column, col.Score)
			}
		}
	}
}

// TestBubbleUpTimeAndDoors: a region of time × value over the X-Ray part
// of an environment and over both parts.
func TestBubbleUpTimeAndDoors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	xenv := store.DoorEnv("prod", model.DoorXRay)
	seedBubbleUp(t, st, xenv, model.SourceXRay)
	cols, err := st.Columns(ctx, xenv, "shop")
	if err != nil {
		t.Fatal(err)
	}
	plan := bubblePlan(t, bubbleT0, bubbleT0.Add(10*time.Minute))
	// The first 5 minutes hold i < 500: cust-42's i = 2, 12, … 492.
	sel := query.Selection{Start: bubbleT0, End: bubbleT0.Add(5 * time.Minute), Column: "duration_ms", Min: ptr(100.0)}
	for name, agg := range paths(st) {
		for _, envs := range [][]string{{xenv}, {"prod", xenv}} {
			res, err := query.BubbleUp(ctx, agg, query.BubbleUpRequest{Envs: envs, Plan: plan, Columns: cols, Selection: sel})
			if err != nil {
				t.Fatal(err)
			}
			k := float64(len(envs))
			if res.Selection != 50*k || res.Baseline != 950*k {
				t.Fatalf("%v: selection %v baseline %v", envs, res.Selection, res.Baseline)
			}
			c := res.Columns[0]
			v := c.Values[0]
			if c.Column != "customer" || v.Value != "cust-42" || v.Selection != 1 || !near(v.Baseline, 50.0/950) {
				t.Errorf("%s %v: first %s %+v, want customer cust-42 1 vs 50/950", name, envs, c.Column, v)
			}
		}
	}
}

// TestBubbleUpNumericAndGroup: a group row selection; the numeric column
// differs.
func TestBubbleUpNumericAndGroup(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	cols, err := st.Columns(ctx, "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	req := query.BubbleUpRequest{Envs: []string{"prod"}, Plan: bubblePlan(t, bubbleT0, bubbleT0.Add(10*time.Minute)),
		Columns: cols, Selection: query.Selection{Group: []query.GroupValue{{Column: "customer", Value: "cust-42"}}}}
	var answers []string
	for name, agg := range paths(st) {
		t.Run(name, func(t *testing.T) {
			res, err := query.BubbleUp(ctx, agg, req)
			if err != nil {
				t.Fatal(err)
			}
			checkNumericGroup(t, res)
			b, _ := json.Marshal(res)
			answers = append(answers, string(b))
		})
	}
	// Both paths give the same answer.
	if len(answers) == 2 && answers[0] != answers[1] {
		t.Errorf("the paths differ:\n%s\n%s", answers[0], answers[1])
	}
}

func checkNumericGroup(t *testing.T, res query.BubbleUpResult) {
	if res.Selection != 100 || len(res.Columns) == 0 || res.Columns[0].Column != "duration_ms" {
		t.Fatalf("selection %v, columns %+v: want duration_ms first", res.Selection, res.Columns)
	}
	d := res.Columns[0]
	if d.Type != "numeric" || len(d.Buckets) != query.HistogramBuckets || !near(d.Score, 1) {
		t.Fatalf("duration_ms %+v", d)
	}
	// [10, 160] in 20 buckets of 7.5: 10…16 in the first, 100…160 from
	// the 12th (100-10)/7.5 = 12 on.
	if d.Buckets[0].Lower != 10 || d.Buckets[19].Upper != 160 || d.Buckets[0].BaselineCount != 900 || d.Buckets[0].Baseline != 1 {
		t.Errorf("buckets %+v", d.Buckets[:2])
	}
	var sel float64
	for _, b := range d.Buckets[12:] {
		sel += b.SelectionCount
	}
	if sel != 100 {
		t.Errorf("selection in buckets 12…19: %v, want 100", sel)
	}
	for _, c := range res.Columns {
		if c.Column == "customer" {
			t.Error("the group's own column is compared")
		}
	}
}

func TestBubbleUpErrors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	plan := bubblePlan(t, bubbleT0, bubbleT0.Add(10*time.Minute))
	for _, tc := range []struct {
		sel   query.Selection
		field string
	}{
		{query.Selection{}, "selection"},
		{query.Selection{Column: "duration_ms"}, "selection.min"},
		{query.Selection{Min: ptr(1.0)}, "selection.column"},
		{query.Selection{Column: "duration_ms", Min: ptr(5.0), Max: ptr(1.0)}, "selection.max"},
		{query.Selection{Start: bubbleT0.Add(time.Minute), End: bubbleT0}, "selection.end_time"},
		{query.Selection{Start: bubbleT0.Add(time.Hour), End: bubbleT0.Add(2 * time.Hour)}, "selection"},
		{query.Selection{Column: "duration_ms", Min: ptr(1e6)}, "selection"}, // no events
		{query.Selection{Group: []query.GroupValue{{Column: "customer", Value: []int{1}}}}, "selection.group[0].value"},
	} {
		_, err := query.BubbleUp(ctx, st, query.BubbleUpRequest{Envs: []string{"prod"}, Plan: plan, Selection: tc.sel})
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Status != 422 || qe.Field != tc.field {
			t.Errorf("%+v: got %v, want a 422 naming %s", tc.sel, err, tc.field)
		}
	}
}

// TestBubbleUpPathsAgree: the single-pass count and the per-column
// queries give the same answers, sample rates weighted or not.
func TestBubbleUpPathsAgree(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	cols, err := st.Columns(ctx, "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []bool{false, true} {
		for i, sel := range []query.Selection{
			{Start: bubbleT0.Add(2 * time.Minute), End: bubbleT0.Add(7 * time.Minute), Column: "duration_ms", Min: ptr(12.0), Max: ptr(120.0)},
			{Group: []query.GroupValue{{Column: "region", Value: "eu"}, {Column: "nothing", Value: nil}}},
			{End: bubbleT0.Add(time.Minute)},
		} {
			plan := bubblePlan(t, bubbleT0, bubbleT0.Add(10*time.Minute))
			plan.Query.UsageMode = usage
			req := query.BubbleUpRequest{Envs: []string{"prod"}, Plan: plan, Columns: cols, Selection: sel, MaxValues: 3}
			var answers []string
			for name, agg := range paths(st) {
				res, err := query.BubbleUp(ctx, agg, req)
				if err != nil {
					t.Fatalf("usage %v, selection %d, %s: %v", usage, i, name, err)
				}
				if res.Selection == 0 || len(res.Columns) == 0 {
					t.Errorf("usage %v, selection %d, %s: %+v", usage, i, name, res)
				}
				b, _ := json.Marshal(res)
				answers = append(answers, string(b))
			}
			if answers[0] != answers[1] {
				t.Errorf("usage %v, selection %d: the paths differ:\n%s\n%s", usage, i, answers[0], answers[1])
			}
		}
	}
}

// TestBubbleUpRelationalFilter: a query filtered on a relational field
// (root.) compares the events that filter keeps, with either way of
// counting.
func TestBubbleUpRelationalFilter(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	seedBubbleUp(t, st, "prod", model.SourceOTLP)
	cols, err := st.Columns(ctx, "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	s, e := bubbleT0.Unix(), bubbleT0.Add(10*time.Minute).Unix()
	// Every span is a root span (no parent), so root.customer = customer.
	spec := query.Spec{StartTime: &s, EndTime: &e, Filters: []query.FilterSpec{{Column: "root.customer", Op: "!=", Value: "cust-40"}}}
	plan, err := spec.Plan(bubbleT0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, agg := range paths(st) {
		res, err := query.BubbleUp(ctx, agg, query.BubbleUpRequest{Envs: []string{"prod"}, Plan: plan, Columns: cols,
			Selection: query.Selection{Column: "duration_ms", Min: ptr(100.0)}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Selection != 100 || res.Baseline != 800 {
			t.Errorf("%s: selection %v baseline %v, want 100 and 800 (cust-40's 100 spans filtered out)", name, res.Selection, res.Baseline)
		}
		for _, c := range res.Columns {
			if c.Column != "customer" {
				continue
			}
			if v, ok := findValue(c, "cust-40"); ok {
				t.Errorf("%s: cust-40 counted (%+v), the query filters it out", name, v)
			}
			if v, _ := findValue(c, "cust-41"); !near(v.Baseline, 100.0/800) {
				t.Errorf("%s: cust-41 %+v, want baseline share 100/800", name, v)
			}
		}
	}
	_, err = query.BubbleUp(ctx, st, query.BubbleUpRequest{Envs: []string{"prod"}, Plan: plan, Columns: cols,
		Selection: query.Selection{Group: []query.GroupValue{{Column: "root.name", Value: "x"}}}})
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Field != "selection.group[0].column" {
		t.Errorf("a relational group: %v, want a 422 naming selection.group[0].column", err)
	}
}
