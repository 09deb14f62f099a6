package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// runRelational checks relational fields (root., parent., any., none.)
// against three traces in environment "rel", one dataset per service:
//
//	A: web "GET /checkout" (tier gold)
//	     ├─ api "charge" (error)
//	     │    └─ db "query"
//	     └─ api "lookup"
//	B: web "GET /home" (tier free)
//	     └─ api "charge"
//	          └─ db "query" (error)
//	C: api "charge", whose parent was never sent (no root)
//
// so that "same span" matters: A has a db span and an error span, but no
// db span in error; B has one.
func runRelational(t *testing.T, s store.Store, agg store.Aggregator) {
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	mk := func(ds string, trace uint64, id, parent uint64, ms int, name string, isErr bool, attrs ...model.Attr) model.Event {
		var p model.SpanID
		if parent != 0 {
			p = sid(parent)
		}
		e := span(ds, tid(trace), sid(id), p, at(ms), name, attrs...)
		e.Error = isErr
		return e
	}
	write(t, s, "rel",
		mk("web", 401, 1, 0, 0, "GET /checkout", false, a("tier", model.Str("gold"))),
		mk("api", 401, 2, 1, 10, "charge", true),
		mk("db", 401, 3, 2, 20, "query", false),
		mk("api", 401, 4, 1, 30, "lookup", false),
		mk("web", 402, 11, 0, 40, "GET /home", false, a("tier", model.Str("free"))),
		mk("api", 402, 12, 11, 50, "charge", false),
		mk("db", 402, 13, 12, 60, "query", true),
		mk("api", 403, 21, 999, 70, "charge", false),
	)
	eq := func(col string, v model.Value) store.Filter {
		return store.Filter{Column: col, Op: store.OpEq, Value: v}
	}
	q := func(datasets []string, filters []store.Filter, breakdowns ...string) store.AggregateQuery {
		return store.AggregateQuery{Start: base, End: base.Add(time.Second), Datasets: datasets, Filters: filters, Breakdowns: breakdowns}
	}
	run := func(t *testing.T, q store.AggregateQuery) []store.Row {
		t.Helper()
		res, err := agg.Aggregate(context.Background(), "rel", q)
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		return res.Rows
	}
	tests := []struct {
		name string
		q    store.AggregateQuery
		want string // showRows of the result, groups sorted by COUNT then value as the store orders them
	}{
		{"root filter", q([]string{"api"}, []store.Filter{eq("root.tier", model.Str("gold"))}), "=2"},
		{"root filter and a filter of the event", q(nil, []store.Filter{eq("root.tier", model.Str("gold")), eq("name", model.Str("charge"))}), "=1"},
		{"root breakdown", q([]string{"api"}, nil, "root.name"), "GET /checkout=2; GET /home=1; <nil>=1"},
		{"parent filter", q(nil, []store.Filter{eq("parent.name", model.Str("charge"))}), "=2"},
		{"parent breakdown", q([]string{"db", "web"}, nil, "parent.name"), "charge=2; <nil>=2"},
		{"any filter", q(nil, []store.Filter{eq("any.error", model.Bool(true))}), "=7"},
		{"any filters are one span", q(nil, []store.Filter{eq("any.service.name", model.Str("db")), eq("any.error", model.Bool(true))}), "=3"},
		{"none filter", q(nil, []store.Filter{eq("none.error", model.Bool(true))}), "=1"},
		{"any breakdown follows the any filters", q([]string{"web"}, []store.Filter{eq("any.error", model.Bool(true))}, "any.service.name"), "api=1; db=1"},
		{"unknown relational field matches nothing (no rows)", q(nil, []store.Filter{eq("root.no.such", model.Str("x"))}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := showRows(run(t, tc.q)); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		bad := []store.AggregateQuery{
			{Start: base, End: base.Add(time.Second), Filters: []store.Filter{eq("root.tier", model.Str("gold")), eq("name", model.Str("x"))}, Combination: store.Or},
			{Start: base, End: base.Add(time.Second), Calcs: []store.Calc{{Op: store.CalcMax, Column: "root.duration_ms"}}},
			{Start: base, End: base.Add(time.Second), Breakdowns: []string{"none.name"}},
		}
		for i, q := range bad {
			if _, err := agg.Aggregate(context.Background(), "rel", q); err == nil {
				t.Errorf("query %d: no error", i)
			}
		}
	})
}
