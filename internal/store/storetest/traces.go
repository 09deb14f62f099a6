package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// The SelectTraces cases: store.Reader.SelectTraces and its door view.
var traceTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"SelectRequire", testSelectRequire},
	{"SelectRange", testSelectRange},
	{"SelectOrder", testSelectOrder},
	{"SelectPaging", testSelectPaging},
	{"SelectCount", testSelectCount},
	{"SelectIsolation", testSelectIsolation},
	{"SelectTypedValues", testSelectTypedValues},
	{"SelectUnknownColumn", testSelectUnknownColumn},
	{"SelectDoors", testSelectDoors},
}

func selectTraces(t *testing.T, r store.Reader, env string, q store.TraceQuery) store.TraceSelection {
	t.Helper()
	sel, err := r.SelectTraces(context.Background(), env, q)
	if err != nil {
		t.Fatalf("SelectTraces(%s, %+v): %v", env, q, err)
	}
	return sel
}

// traceNames names the selected traces by id (hex) for
// failure messages, each with its Last as seconds after base.
func traceNames(refs []store.TraceRef) string {
	var out []string
	for _, r := range refs {
		out = append(out, fmt.Sprintf("%x@%v", r.ID[:], r.Last.Sub(base)))
	}
	return "[" + strings.Join(out, " ") + "]"
}

func assertTraces(t *testing.T, what string, got []store.TraceRef, want ...store.TraceRef) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].ID == want[i].ID && got[i].Last.Equal(want[i].Last)
	}
	if !ok {
		t.Errorf("%s: got %s, want %s", what, traceNames(got), traceNames(want))
	}
}

func ref(id model.TraceID, at time.Time) store.TraceRef { return store.TraceRef{ID: id, Last: at} }

func eq(col string, v model.Value) store.Filter {
	return store.Filter{Column: col, Op: store.OpEq, Value: v}
}

func anyOf(fs ...store.Filter) store.SpanMatch { return store.SpanMatch{Any: fs} }

func sec(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

// window is [base, base+100s), the range of most cases.
func window(req ...store.SpanMatch) store.TraceQuery {
	return store.TraceQuery{Start: base, End: sec(100), Require: req}
}

// testSelectRequire: AND across Require, OR within Any, a requirement met
// by different events of a trace, and the Sources exception.
func testSelectRequire(t *testing.T, s store.Store) {
	xr := func(e model.Event) model.Event { e.Source = model.SourceXRay; return e }
	write(t, s, "test",
		// 1: api + k=v on another span of the trace.
		span("api", tid(1), sid(1), model.SpanID{}, sec(1), "GET"),
		span("db", tid(1), sid(2), sid(1), sec(2), "query", a("k", model.Str("v"))),
		// 2: api only.
		span("api", tid(2), sid(3), model.SpanID{}, sec(3), "GET"),
		// 3: k=v under X-Ray's annotation key, in an X-Ray segment of api.
		xr(span("api", tid(3), sid(4), model.SpanID{}, sec(4), "GET", a("aws.xray.annotations.k", model.Str("v")))),
		// 4: k=v only, on web.
		span("web", tid(4), sid(5), model.SpanID{}, sec(5), "GET", a("k", model.Str("v"))),
		// 5: an X-Ray segment of api without k, and an OTLP span.
		xr(span("api", tid(5), sid(6), model.SpanID{}, sec(6), "GET", a("k", model.Str("w")))),
		span("web", tid(5), sid(7), model.SpanID{}, sec(7), "GET"),
		// 6: X-Ray only, no k.
		xr(span("web", tid(6), sid(8), model.SpanID{}, sec(8), "GET")),
	)
	svc := anyOf(eq(model.FieldServiceName, model.Str("api")))
	k := anyOf(eq("k", model.Str("v")), eq("aws.xray.annotations.k", model.Str("v")))
	cases := []struct {
		name string
		req  []store.SpanMatch
		want []store.TraceRef
	}{
		{"none", nil, []store.TraceRef{ref(tid(6), sec(8)), ref(tid(5), sec(7)), ref(tid(4), sec(5)), ref(tid(3), sec(4)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		{"service", []store.SpanMatch{svc}, []store.TraceRef{ref(tid(5), sec(7)), ref(tid(3), sec(4)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		{"annotation either key", []store.SpanMatch{k}, []store.TraceRef{ref(tid(4), sec(5)), ref(tid(3), sec(4)), ref(tid(1), sec(2))}},
		{"service and annotation", []store.SpanMatch{svc, k}, []store.TraceRef{ref(tid(3), sec(4)), ref(tid(1), sec(2))}},
		{"order of requirements", []store.SpanMatch{k, svc}, []store.TraceRef{ref(tid(3), sec(4)), ref(tid(1), sec(2))}},
		{"one condition twice", []store.SpanMatch{svc, svc}, []store.TraceRef{ref(tid(5), sec(7)), ref(tid(3), sec(4)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		// Exact only for X-Ray segments: every other event matches.
		{"sources", []store.SpanMatch{{Any: k.Any, Sources: []model.Source{model.SourceXRay}}},
			[]store.TraceRef{ref(tid(5), sec(7)), ref(tid(4), sec(5)), ref(tid(3), sec(4)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		{"sources and service", []store.SpanMatch{svc, {Any: k.Any, Sources: []model.Source{model.SourceXRay}}},
			[]store.TraceRef{ref(tid(5), sec(7)), ref(tid(3), sec(4)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		{"sources only", []store.SpanMatch{{Sources: []model.Source{model.SourceXRay}}},
			[]store.TraceRef{ref(tid(5), sec(7)), ref(tid(4), sec(5)), ref(tid(2), sec(3)), ref(tid(1), sec(2))}},
		{"every source listed", []store.SpanMatch{{Any: k.Any, Sources: []model.Source{model.SourceXRay, model.SourceOTLP, model.SourceEvents}}},
			[]store.TraceRef{ref(tid(4), sec(5)), ref(tid(3), sec(4)), ref(tid(1), sec(2))}},
		{"empty match", []store.SpanMatch{{}}, nil},
		{"one event must not meet both", []store.SpanMatch{anyOf(eq(model.FieldServiceName, model.Str("web"))), anyOf(eq(model.FieldName, model.Str("query")))}, nil},
		{"negative filter", []store.SpanMatch{anyOf(store.Filter{Column: "k", Op: store.OpNotExists}), k},
			[]store.TraceRef{ref(tid(3), sec(4)), ref(tid(1), sec(2))}},
	}
	for _, c := range cases {
		sel := selectTraces(t, s, "test", window(c.req...))
		assertTraces(t, c.name, sel.Traces, c.want...)
		if sel.More || sel.Total != 0 {
			t.Errorf("%s: More %v, Total %d without a limit or Count", c.name, sel.More, sel.Total)
		}
	}
}

// testSelectRange: only events in [Start, End) count, for the range, the
// requirements and each trace's Last; events without a trace id belong
// to no trace.
func testSelectRange(t *testing.T, s store.Store) {
	noTrace := span("api", model.TraceID{}, sid(9), model.SpanID{}, sec(50), "plain", a("k", model.Str("v")))
	write(t, s, "test",
		// 1: events before, in and after the range; the match is in range.
		span("api", tid(1), sid(1), model.SpanID{}, sec(5), "early", a("k", model.Str("v"))),
		span("api", tid(1), sid(2), sid(1), sec(10), "in"),
		span("api", tid(1), sid(3), sid(1), sec(20), "in", a("k", model.Str("v"))),
		span("api", tid(1), sid(4), sid(1), sec(30), "late"),
		// 2: the match only before the range.
		span("api", tid(2), sid(5), model.SpanID{}, sec(9), "early", a("k", model.Str("v"))),
		span("api", tid(2), sid(6), sid(5), sec(15), "in"),
		// 3: the match only at End (excluded).
		span("api", tid(3), sid(7), model.SpanID{}, sec(12), "in"),
		span("api", tid(3), sid(8), sid(7), sec(30), "end", a("k", model.Str("v"))),
		// 4: only events outside the range.
		span("api", tid(4), sid(10), model.SpanID{}, sec(1), "early"),
		span("api", tid(4), sid(11), sid(10), sec(40), "late"),
		// 5: one event at Start exactly.
		span("api", tid(5), sid(12), model.SpanID{}, sec(10), "start", a("k", model.Str("v"))),
		noTrace,
	)
	q := store.TraceQuery{Start: sec(10), End: sec(30)}
	k := anyOf(eq("k", model.Str("v")))
	assertTraces(t, "range", selectTraces(t, s, "test", q).Traces,
		ref(tid(1), sec(20)), ref(tid(2), sec(15)), ref(tid(3), sec(12)), ref(tid(5), sec(10)))
	q.Require = []store.SpanMatch{k}
	assertTraces(t, "range and requirement", selectTraces(t, s, "test", q).Traces, ref(tid(1), sec(20)), ref(tid(5), sec(10)))
	// Last is the newest event in the range, not the newest match.
	q = store.TraceQuery{Start: sec(0), End: sec(21), Require: []store.SpanMatch{k}}
	assertTraces(t, "last in range", selectTraces(t, s, "test", q).Traces, ref(tid(1), sec(20)), ref(tid(2), sec(15)), ref(tid(5), sec(10)))
	q.End = sec(31)
	assertTraces(t, "wider", selectTraces(t, s, "test", q).Traces, ref(tid(3), sec(30)), ref(tid(1), sec(30)), ref(tid(2), sec(15)), ref(tid(5), sec(10)))
	// The event without a trace id matches but is no trace.
	q = store.TraceQuery{Start: sec(45), End: sec(55), Require: []store.SpanMatch{k}, Count: true}
	if sel := selectTraces(t, s, "test", q); len(sel.Traces) != 0 || sel.Total != 0 {
		t.Errorf("an event without a trace id: %s, total %d", traceNames(sel.Traces), sel.Total)
	}
	// An empty or inverted range has no traces.
	for _, q := range []store.TraceQuery{{Start: sec(10), End: sec(10)}, {Start: sec(30), End: sec(10)}} {
		if sel := selectTraces(t, s, "test", q); len(sel.Traces) != 0 || sel.More {
			t.Errorf("range [%v, %v): %s", q.Start.Sub(base), q.End.Sub(base), traceNames(sel.Traces))
		}
	}
	if _, err := s.SelectTraces(context.Background(), "test", store.TraceQuery{End: sec(10)}); err == nil {
		t.Error("a query without a start succeeded")
	}
}

// testSelectOrder: newest Last first; equal Lasts by trace id, greatest
// first, the id's bytes compared unsigned.
func testSelectOrder(t *testing.T, s store.Store) {
	ids := []model.TraceID{
		{0x00, 1}, {0x7f, 1}, {0x80, 1}, {0xff, 1},
		{0x80, 1, 15: 0x01}, {0x80, 1, 15: 0xff}, {0x80, 1, 8: 0x80}, {0x80, 1, 8: 0x7f},
		{8: 0xff}, // a 64-bit id
	}
	var evs []model.Event
	for i, id := range ids {
		evs = append(evs, span("api", id, sid(uint64(i+1)), model.SpanID{}, sec(7), "tie"))
	}
	evs = append(evs, span("api", tid(1), sid(20), model.SpanID{}, sec(8), "newest"), span("api", tid(2), sid(21), model.SpanID{}, sec(6), "oldest"))
	write(t, s, "test", evs...)
	want := []store.TraceRef{ref(tid(1), sec(8))}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b model.TraceID) int { return bytes.Compare(b[:], a[:]) })
	for _, id := range sorted {
		want = append(want, ref(id, sec(7)))
	}
	want = append(want, ref(tid(2), sec(6)))
	assertTraces(t, "order", selectTraces(t, s, "test", window()).Traces, want...)
	assertTraces(t, "order with a requirement", selectTraces(t, s, "test", window(anyOf(eq(model.FieldServiceName, model.Str("api"))))).Traces, want...)
}

// selectWorld is a random environment for the paging and count cases:
// traces whose events interleave in time and arrive in several writes,
// from two sources, with a few events outside the range and without a
// trace id; and a reference answer computed from the events.
type selectWorld struct {
	events []model.Event
	start  time.Time
	end    time.Time
}

func newSelectWorld(t *testing.T, s store.Store, env string, seed uint64) selectWorld {
	r := rand.New(rand.NewPCG(seed, 7))
	services := []string{"api", "web", "db", "queue"}
	w := selectWorld{start: sec(10), end: sec(90)}
	n := uint64(0)
	for tr := uint64(1); tr <= 60; tr++ {
		id := tid(tr)
		if tr%7 == 0 {
			id[0] |= 0x80 // high bit set: negative as a signed integer
		}
		at := sec(r.IntN(100))
		for range 1 + r.IntN(6) {
			n++
			e := span(services[r.IntN(len(services))], id, sid(n), model.SpanID{}, at.Add(time.Duration(r.IntN(25_000))*time.Millisecond), "op")
			if tr%11 == 0 {
				e.Time = at // whole traces at one instant: ties
			}
			if r.IntN(3) == 0 {
				e.Attrs = append(e.Attrs, a("k", model.Str(fmt.Sprint("v", r.IntN(4)))))
			}
			if r.IntN(4) == 0 {
				e.Source = model.SourceXRay
			}
			w.events = append(w.events, e)
		}
	}
	for i := range 5 {
		n++
		w.events = append(w.events, span("api", model.TraceID{}, sid(n), model.SpanID{}, sec(20+i), "no trace", a("k", model.Str("v1"))))
	}
	// Several writes, each with a random part of the events.
	r.Shuffle(len(w.events), func(i, j int) { w.events[i], w.events[j] = w.events[j], w.events[i] })
	for rest := w.events; len(rest) > 0; {
		k := min(len(rest), 1+r.IntN(40))
		write(t, s, env, rest[:k]...)
		rest = rest[k:]
	}
	return w
}

// want computes SelectTraces' answer over the world's events, with each
// requirement given as a predicate.
func (w selectWorld) want(reqs []func(model.Event) bool) (all []store.TraceRef, total int) {
	last := map[model.TraceID]time.Time{}
	met := map[model.TraceID][]bool{}
	for _, e := range w.events {
		if e.TraceID.IsZero() || e.Time.Before(w.start) || !e.Time.Before(w.end) {
			continue
		}
		if l, ok := last[e.TraceID]; !ok || e.Time.After(l) {
			last[e.TraceID] = e.Time
		}
		if met[e.TraceID] == nil {
			met[e.TraceID] = make([]bool, len(reqs))
		}
		for i, req := range reqs {
			met[e.TraceID][i] = met[e.TraceID][i] || req(e)
		}
	}
	for id, l := range last {
		if !slices.Contains(met[id], false) {
			all = append(all, ref(id, l))
		}
	}
	slices.SortFunc(all, store.CompareTraces)
	return all, len(last)
}

func attrIs(e model.Event, key, v string) bool {
	x, ok := e.Get(key)
	return ok && x.Kind == model.KindString && x.Str == v
}

// selectQueries are the requirements the random cases run, each with its
// predicate.
var selectQueries = []struct {
	name string
	req  []store.SpanMatch
	pred []func(model.Event) bool
}{
	{"none", nil, nil},
	{"service", []store.SpanMatch{anyOf(eq(model.FieldServiceName, model.Str("api")))},
		[]func(model.Event) bool{func(e model.Event) bool { return e.ServiceName == "api" }}},
	{"service and k", []store.SpanMatch{anyOf(eq(model.FieldServiceName, model.Str("web"))), anyOf(eq("k", model.Str("v1")), eq("k", model.Str("v2")))},
		[]func(model.Event) bool{
			func(e model.Event) bool { return e.ServiceName == "web" },
			func(e model.Event) bool { return attrIs(e, "k", "v1") || attrIs(e, "k", "v2") },
		}},
	{"k for X-Ray only", []store.SpanMatch{{Any: []store.Filter{eq("k", model.Str("v3"))}, Sources: []model.Source{model.SourceXRay}}},
		[]func(model.Event) bool{func(e model.Event) bool { return e.Source != model.SourceXRay || attrIs(e, "k", "v3") }}},
}

// testSelectPaging: every Limit, paged with After to the end, gives the
// whole answer in order, each trace once, More set on every page but the
// last; for queries with and without requirements.
func testSelectPaging(t *testing.T, s store.Store) {
	w := newSelectWorld(t, s, "test", 1)
	for _, c := range selectQueries {
		all, _ := w.want(c.pred)
		if len(all) < 5 {
			t.Fatalf("%s: the random world has only %d traces for it", c.name, len(all))
		}
		q := store.TraceQuery{Start: w.start, End: w.end, Require: c.req}
		assertTraces(t, c.name+", no limit", selectTraces(t, s, "test", q).Traces, all...)
		for _, limit := range []int{1, 2, 3, 7, len(all) - 1, len(all), len(all) + 1} {
			q.Limit, q.After = limit, nil
			var got []store.TraceRef
			for page := 0; ; page++ {
				sel := selectTraces(t, s, "test", q)
				if len(sel.Traces) > limit {
					t.Fatalf("%s, limit %d: %d traces", c.name, limit, len(sel.Traces))
				}
				got = append(got, sel.Traces...)
				if wantMore := len(got) < len(all); sel.More != wantMore {
					t.Fatalf("%s, limit %d, page %d: More %v after %d of %d traces", c.name, limit, page, sel.More, len(got), len(all))
				}
				if !sel.More {
					break
				}
				if len(sel.Traces) == 0 || page > len(all) {
					t.Fatalf("%s, limit %d: More without progress", c.name, limit)
				}
				last := sel.Traces[len(sel.Traces)-1]
				q.After = &last
			}
			assertTraces(t, fmt.Sprintf("%s, pages of %d", c.name, limit), got, all...)
		}
		// After a trace that is not in the answer (any time, any id).
		mid := all[len(all)/2]
		after := store.TraceRef{ID: tid(999), Last: mid.Last}
		q.Limit, q.After = 0, &after
		var want []store.TraceRef
		for _, r := range all {
			if store.CompareTraces(after, r) < 0 {
				want = append(want, r)
			}
		}
		assertTraces(t, c.name+", after a foreign trace", selectTraces(t, s, "test", q).Traces, want...)
	}
}

// testSelectCount: Total counts every trace with an event in range,
// whatever the requirements, the limit and After; only when asked.
func testSelectCount(t *testing.T, s store.Store) {
	w := newSelectWorld(t, s, "test", 2)
	_, total := w.want(nil)
	for _, c := range selectQueries {
		all, _ := w.want(c.pred)
		q := store.TraceQuery{Start: w.start, End: w.end, Require: c.req, Limit: 2, Count: true}
		sel := selectTraces(t, s, "test", q)
		if sel.Total != total {
			t.Errorf("%s: Total %d, want %d", c.name, sel.Total, total)
		}
		assertTraces(t, c.name+", limit 2 with Count", sel.Traces, all[:min(2, len(all))]...)
		if len(all) == 0 {
			continue
		}
		q.After = &all[0]
		if sel := selectTraces(t, s, "test", q); sel.Total != total {
			t.Errorf("%s after a trace: Total %d, want %d", c.name, sel.Total, total)
		}
	}
	if sel := selectTraces(t, s, "test", store.TraceQuery{Start: w.start, End: w.end}); sel.Total != 0 {
		t.Errorf("Total %d without Count", sel.Total)
	}
}

// testSelectIsolation: an environment's traces only, even with the same
// trace ids elsewhere; an unknown environment has none.
func testSelectIsolation(t *testing.T, s store.Store) {
	write(t, s, "prod", span("api", tid(1), sid(1), model.SpanID{}, sec(1), "GET", a("k", model.Str("v"))))
	write(t, s, "staging",
		span("api", tid(1), sid(2), model.SpanID{}, sec(5), "GET"),
		span("api", tid(2), sid(3), model.SpanID{}, sec(6), "GET", a("k", model.Str("v"))))
	k := anyOf(eq("k", model.Str("v")))
	q := window()
	q.Count = true
	sel := selectTraces(t, s, "prod", q)
	assertTraces(t, "prod", sel.Traces, ref(tid(1), sec(1)))
	if sel.Total != 1 {
		t.Errorf("prod: Total %d, want 1", sel.Total)
	}
	assertTraces(t, "prod, k", selectTraces(t, s, "prod", window(k)).Traces, ref(tid(1), sec(1)))
	assertTraces(t, "staging, k", selectTraces(t, s, "staging", window(k)).Traces, ref(tid(2), sec(6)))
	sel = selectTraces(t, s, "nope", q)
	if len(sel.Traces) != 0 || sel.Total != 0 || sel.More {
		t.Errorf("unknown environment: %+v", sel)
	}
	if sel.Traces == nil {
		t.Error("unknown environment: nil Traces, want empty")
	}
}

// testSelectTypedValues: filter values compared as each column's type
// (string, integer, float, boolean), a key with two types, and a key
// written first rarely and then on every event (so stores that give
// dense keys their own column hold it in two layouts).
func testSelectTypedValues(t *testing.T, s store.Store) {
	write(t, s, "test",
		span("api", tid(1), sid(1), model.SpanID{}, sec(1), "s", a("http.status", model.Int(500)), a("ratio", model.Float(1.5)), a("cached", model.Bool(true))),
		span("web", tid(2), sid(2), model.SpanID{}, sec(2), "s", a("http.status", model.Str("500")), a("ratio", model.Float(0.5)), a("cached", model.Bool(false))),
		span("web", tid(3), sid(3), model.SpanID{}, sec(3), "s", a("http.status", model.Str("5xx")), a("customer", model.Str("early"))),
	)
	var late []model.Event
	for i := range 40 {
		late = append(late, span("db", tid(uint64(10+i)), sid(uint64(10+i)), model.SpanID{}, sec(10+i), "s", a("customer", model.Str(fmt.Sprint("c", i)))))
	}
	write(t, s, "test", late...)
	write(t, s, "test", span("queue", tid(60), sid(60), model.SpanID{}, sec(60), "s", a("customer", model.Str("early"))))
	cases := []struct {
		name string
		f    store.Filter
		want []store.TraceRef
	}{
		{"int = int", eq("http.status", model.Int(500)), []store.TraceRef{ref(tid(2), sec(2)), ref(tid(1), sec(1))}},
		{"int = string", eq("http.status", model.Str("500")), []store.TraceRef{ref(tid(2), sec(2)), ref(tid(1), sec(1))}},
		{"string only", eq("http.status", model.Str("5xx")), []store.TraceRef{ref(tid(3), sec(3))}},
		{"float >", store.Filter{Column: "ratio", Op: store.OpGt, Value: model.Int(1)}, []store.TraceRef{ref(tid(1), sec(1))}},
		{"float = string", eq("ratio", model.Str("0.5")), []store.TraceRef{ref(tid(2), sec(2))}},
		{"bool = true", eq("cached", model.Bool(true)), []store.TraceRef{ref(tid(1), sec(1))}},
		{"bool = string", eq("cached", model.Str("false")), []store.TraceRef{ref(tid(2), sec(2))}},
		{"bool = int", eq("cached", model.Int(1)), nil},
		{"starts-with on an int", store.Filter{Column: "http.status", Op: store.OpStartsWith, Value: model.Str("50")}, []store.TraceRef{ref(tid(2), sec(2)), ref(tid(1), sec(1))}},
		{"in", store.Filter{Column: "http.status", Op: store.OpIn, Values: []model.Value{model.Int(404), model.Str("5xx")}}, []store.TraceRef{ref(tid(3), sec(3))}},
		{"rare then dense key", eq("customer", model.Str("early")), []store.TraceRef{ref(tid(60), sec(60)), ref(tid(3), sec(3))}},
		{"dense key", eq("customer", model.Str("c7")), []store.TraceRef{ref(tid(17), sec(17))}},
	}
	for _, c := range cases {
		assertTraces(t, c.name, selectTraces(t, s, "test", window(anyOf(c.f))).Traces, c.want...)
	}
}

// testSelectUnknownColumn: a filter on a column no event has matches no
// event (its negation every event), without an error.
func testSelectUnknownColumn(t *testing.T, s store.Store) {
	write(t, s, "test",
		span("api", tid(1), sid(1), model.SpanID{}, sec(1), "s", a("k", model.Str("v"))),
		span("api", tid(2), sid(2), model.SpanID{}, sec(2), "s"))
	if sel := selectTraces(t, s, "test", window(anyOf(eq("nope", model.Str("v"))))); len(sel.Traces) != 0 {
		t.Errorf("unknown column: %s", traceNames(sel.Traces))
	}
	assertTraces(t, "unknown column or known", selectTraces(t, s, "test", window(anyOf(eq("nope", model.Str("v")), eq("k", model.Str("v"))))).Traces,
		ref(tid(1), sec(1)))
	assertTraces(t, "unknown column does not exist", selectTraces(t, s, "test", window(anyOf(store.Filter{Column: "nope", Op: store.OpNotExists}))).Traces,
		ref(tid(2), sec(2)), ref(tid(1), sec(1)))
	if _, err := s.SelectTraces(context.Background(), "test", window(anyOf(store.Filter{Column: "k", Op: "~="}))); err == nil {
		t.Error("an unknown operator: no error")
	}
}

// testSelectDoors: each door's view sees its own traces; the joined view
// takes a trace across doors as one (requirements met in either door, its
// newest event from either), and pages and counts the union.
func testSelectDoors(t *testing.T, s store.Store) {
	hcEnv, xrEnv := store.DoorEnv("test", model.DoorHoneycomb), store.DoorEnv("test", model.DoorXRay)
	seg := func(e model.Event) model.Event { e.Source = model.SourceXRay; return e }
	write(t, s, hcEnv,
		span("api", tid(1), sid(1), model.SpanID{}, sec(1), "GET", a("k", model.Str("v"))),
		span("api", tid(2), sid(2), model.SpanID{}, sec(9), "GET"),
		span("web", tid(3), sid(3), model.SpanID{}, sec(3), "GET"))
	write(t, s, xrEnv,
		seg(span("db", tid(1), sid(4), model.SpanID{}, sec(5), "db")),
		seg(span("db", tid(2), sid(5), model.SpanID{}, sec(2), "db", a("k", model.Str("v")))),
		seg(span("db", tid(4), sid(6), model.SpanID{}, sec(4), "db", a("k", model.Str("v")))))
	hc := store.DoorView(s, model.DoorHoneycomb)
	xr := store.DoorView(s, model.DoorXRay)
	both := store.DoorView(s, model.DoorHoneycomb, model.DoorXRay)
	k := anyOf(eq("k", model.Str("v")))
	db := anyOf(eq(model.FieldServiceName, model.Str("db")))
	api := anyOf(eq(model.FieldServiceName, model.Str("api")))
	assertTraces(t, "honeycomb", selectTraces(t, hc, "test", window()).Traces, ref(tid(2), sec(9)), ref(tid(3), sec(3)), ref(tid(1), sec(1)))
	assertTraces(t, "xray", selectTraces(t, xr, "test", window()).Traces, ref(tid(1), sec(5)), ref(tid(4), sec(4)), ref(tid(2), sec(2)))
	assertTraces(t, "xray, k", selectTraces(t, xr, "test", window(k)).Traces, ref(tid(4), sec(4)), ref(tid(2), sec(2)))
	if sel := selectTraces(t, xr, "test", window(api)); len(sel.Traces) != 0 {
		t.Errorf("xray sees the Honeycomb door's api spans: %s", traceNames(sel.Traces))
	}
	joined := []store.TraceRef{ref(tid(2), sec(9)), ref(tid(1), sec(5)), ref(tid(4), sec(4)), ref(tid(3), sec(3))}
	assertTraces(t, "both", selectTraces(t, both, "test", window()).Traces, joined...)
	assertTraces(t, "both, api and db", selectTraces(t, both, "test", window(api, db)).Traces, ref(tid(2), sec(9)), ref(tid(1), sec(5)))
	assertTraces(t, "both, k and api", selectTraces(t, both, "test", window(k, api)).Traces, ref(tid(2), sec(9)), ref(tid(1), sec(5)))
	assertTraces(t, "both, k", selectTraces(t, both, "test", window(k)).Traces, ref(tid(2), sec(9)), ref(tid(1), sec(5)), ref(tid(4), sec(4)))
	for _, req := range [][]store.SpanMatch{nil, {k}} {
		want := selectTraces(t, both, "test", window(req...)).Traces
		for limit := 1; limit <= len(want); limit++ {
			q := window(req...)
			q.Limit = limit
			var got []store.TraceRef
			for {
				sel := selectTraces(t, both, "test", q)
				got = append(got, sel.Traces...)
				if !sel.More {
					break
				}
				if len(got) > len(want) {
					t.Fatalf("both, limit %d: paging does not end", limit)
				}
				q.After = &sel.Traces[len(sel.Traces)-1]
			}
			assertTraces(t, fmt.Sprintf("both, %d requirements, pages of %d", len(req), limit), got, want...)
		}
	}
	q := window()
	q.Count = true
	if sel := selectTraces(t, both, "test", q); sel.Total != 4 {
		t.Errorf("both: Total %d, want 4", sel.Total)
	}
	if sel := selectTraces(t, xr, "test", q); sel.Total != 3 {
		t.Errorf("xray: Total %d, want 3", sel.Total)
	}
}
