package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestSelectTracesSQLGolden pins the statements SelectTraces runs.
func TestSelectTracesSQLGolden(t *testing.T) {
	reg := newRegistry()
	reg.nextEnv = 3
	e := reg.ownEnv("prod/xray", true)
	e.attr(colKey{"customer", model.KindString}, 10, true)
	e.attr(colKey{"aws.xray.annotations.customer", model.KindString}, 10, false) // sparse: an overflow list
	start := time.Unix(100, 0)
	after := store.TraceRef{ID: model.TraceID{0x80, 15: 1}, Last: start.Add(time.Minute)}
	q := store.TraceQuery{
		Start: start, End: start.Add(time.Hour), Limit: 100, After: &after, Count: true,
		Require: []store.SpanMatch{
			{Any: []store.Filter{{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str("api")}}},
			{Any: []store.Filter{
				{Column: "customer", Op: store.OpEq, Value: model.Str("c1")},
				{Column: "aws.xray.annotations.customer", Op: store.OpEq, Value: model.Str("c1")},
			}, Sources: []model.Source{model.SourceXRay}},
		},
	}
	ts, err := newTraceSel(e, q)
	if err != nil {
		t.Fatal(err)
	}
	refs := []tref{{k: traceKey{1, 2}}, {k: traceKey{3, -4}}}
	match, args := ts.matchSQL()
	extents, eargs := ts.extentsSQL(refs)
	var sb strings.Builder
	for _, st := range []struct {
		name string
		sql  string
		args []any
	}{
		{"match", match, args},
		{"slice", ts.sliceSQL(), nil},
		{"last", ts.lastSQL(), nil},
		{"newer", ts.newerSQL(), nil},
		{"extents", extents, eargs},
		{"count", ts.countSQL(), nil},
	} {
		fmt.Fprintf(&sb, "-- %s\n%s\n", st.name, st.sql)
		if st.args != nil {
			fmt.Fprintf(&sb, "-- args: %#v\n", st.args)
		}
	}
	got := sb.String()
	path := filepath.Join("testdata", "select_traces.sql")
	golden.Check(t, path, []byte(got))
}

// TestSelectTracesLayouts checks SelectTraces on a field held in both
// layouts of one environment: in the overflow lists for the events
// written before it was dense, in its own column after (promoted).
func TestSelectTracesLayouts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Config{MinColumnEvents: 10, MinColumnDensity: 0.5})
	base := time.Unix(1000, 0).UTC()
	ev := func(n int, ds string, attrs ...model.Attr) model.Event {
		return model.Event{Dataset: ds, ServiceName: ds, Time: base.Add(time.Duration(n) * time.Second), TraceID: model.TraceID{1, 15: byte(n)},
			SpanID: model.SpanID{byte(n)}, Name: "op", SampleRate: 1, Attrs: attrs}
	}
	var first []model.Event
	for i := range 10 {
		first = append(first, ev(i, "early"))
	}
	first[3].Attrs = []model.Attr{{Key: "k", Value: model.Str("v")}}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: first}}); err != nil {
		t.Fatal(err)
	}
	var dense []model.Event
	for i := 20; i < 40; i++ {
		dense = append(dense, ev(i, "late", model.Attr{Key: "k", Value: model.Str(fmt.Sprint("v", i%2))}))
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: dense}}); err != nil {
		t.Fatal(err)
	}
	e := s.reg.Load().envs["prod"]
	if a := e.attrs[colKey{"k", model.KindString}]; a == nil || !a.promoted || !e.overflow[colKey{"k", model.KindString}] {
		t.Fatalf("k is not in both layouts: column %+v, overflow %v", a, e.overflow[colKey{"k", model.KindString}])
	}
	sel, err := s.SelectTraces(ctx, "prod", store.TraceQuery{Start: base, End: base.Add(time.Hour),
		Require: []store.SpanMatch{{Any: []store.Filter{{Column: "k", Op: store.OpIn, Values: []model.Value{model.Str("v"), model.Str("v1")}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range sel.Traces {
		got = append(got, int(r.ID[15]))
	}
	want := []int{39, 37, 35, 33, 31, 29, 27, 25, 23, 21, 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("traces %v, want %v", got, want)
	}
}
