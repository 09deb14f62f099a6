package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/model/modeltest"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

func TestSearchBloom(t *testing.T) {
	var b searchBloom
	const n = 20_000
	for i := range n {
		b.add(fmt.Sprint("svc-", i%10), int32(i%97), fmt.Sprint("value-", i), int64(i))
	}
	bits := b.bits()
	if want := 8 * ((n*bloomBitsPerItem + 63) / 64); len(bits) != want {
		t.Fatalf("%d words, want %d", len(bits), want)
	}
	if b.lo != 0 || b.hi != n-1 {
		t.Fatalf("time range %d..%d", b.lo, b.hi)
	}
	for i := range n {
		if !mayHold(bits, searchHash(fmt.Sprint("svc-", i%10), int32(i%97), fmt.Sprint("value-", i))) {
			t.Fatalf("triple %d added but not held", i)
		}
	}
	fp := 0
	for i := range n {
		if mayHold(bits, searchHash("other", int32(i%97), fmt.Sprint("value-", i))) {
			fp++
		}
	}
	rate := float64(fp) / n
	if rate > 0.05 {
		t.Fatalf("false positive rate %.3f", rate)
	}
	t.Logf("false positive rate %.4f", rate)
	// Every input takes part in the hash.
	h := searchHash("a", 1, "b")
	for _, o := range []uint64{searchHash("b", 1, "b"), searchHash("a", 2, "b"), searchHash("a", 1, "c"), searchHash("ab", 1, "")} {
		if o == h {
			t.Fatal("different triples hash alike")
		}
	}
}

func TestSearchTriple(t *testing.T) {
	s := openTest(t, Config{})
	ctx := context.Background()
	evs := modeltest.GenerateTraces(1, 50)
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	e := s.reg.Load().envs["prod"]
	key := modeltest.AttrKey(3)
	svc := store.Filter{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str("service-1")}
	attr := store.Filter{Column: key, Op: store.OpEq, Value: model.Str("value-001")}
	base := store.AggregateQuery{Calcs: []store.Calc{{Op: store.CalcCount}}, Breakdowns: []string{model.FieldTraceID}}
	for _, tc := range []struct {
		name string
		edit func(q *store.AggregateQuery)
		ok   bool
	}{
		{"service and value", func(q *store.AggregateQuery) { q.Filters = []store.Filter{svc, attr} }, true},
		{"value and service", func(q *store.AggregateQuery) { q.Filters = []store.Filter{attr, svc} }, true},
		{"no service", func(q *store.AggregateQuery) { q.Filters = []store.Filter{attr} }, false},
		{"no value", func(q *store.AggregateQuery) { q.Filters = []store.Filter{svc} }, false},
		{"or", func(q *store.AggregateQuery) { q.Filters, q.Combination = []store.Filter{svc, attr}, store.Or }, false},
		{"not equal", func(q *store.AggregateQuery) {
			q.Filters = []store.Filter{svc, {Column: key, Op: store.OpNe, Value: model.Str("value-001")}}
		}, false},
		{"integer value", func(q *store.AggregateQuery) {
			q.Filters = []store.Filter{svc, {Column: modeltest.AttrKey(72), Op: store.OpEq, Value: model.Int(3)}}
		}, false},
		{"unknown key", func(q *store.AggregateQuery) {
			q.Filters = []store.Filter{svc, {Column: "nope", Op: store.OpEq, Value: model.Str("x")}}
		}, false},
		{"relational filter", func(q *store.AggregateQuery) {
			q.Filters = []store.Filter{svc, attr, {Column: "root.name", Op: store.OpExists}}
		}, false},
		{"relational breakdown", func(q *store.AggregateQuery) {
			q.Filters, q.Breakdowns = []store.Filter{svc, attr}, []string{"root.name"}
		}, false},
		{"calculated field", func(q *store.AggregateQuery) {
			q.Filters = []store.Filter{svc, attr}
			q.CalculatedFields = []store.CalculatedField{{Name: "x", Expr: store.Expr{Column: model.FieldName}}}
		}, false},
	} {
		q := base
		tc.edit(&q)
		_, _, _, ok := searchTriple(e, q)
		if ok != tc.ok {
			t.Errorf("%s: served %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

// TestSearchFilterAggregate compares what Aggregate answers through the
// search filter with counts made from the written events, for triples
// that are there and ones that are not, over writes of a file from before
// format 6 (read whole) and later ones (read through the filter).
func TestSearchFilterAggregate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "search.duckdb")
	s := openTest(t, Config{Path: path})
	g := modeltest.NewGenerator(3, modeltest.Epoch, time.Millisecond)
	var all []model.Event
	write := func(s *Store, n int) {
		for range n {
			var evs []model.Event
			for range 20 {
				evs = g.Trace(evs)
			}
			if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
				t.Fatal(err)
			}
			all = append(all, evs...)
		}
	}
	write(s, 4)
	// These writes become a file of format 5: no search filter.
	for _, q := range []string{`DROP TABLE blooms_1`, `UPDATE format SET version = 5`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, Config{Path: path})
	var sentinel int64
	if err := s.db.QueryRow(`SELECT wseq FROM blooms_1 WHERE bits = unhex('FFFFFFFFFFFFFFFF')::BIT`).Scan(&sentinel); err != nil || sentinel != 4 {
		t.Fatalf("sentinel wseq %d (%v), want 4", sentinel, err)
	}
	write(s, 12)
	e := s.reg.Load().envs["prod"]

	rng := rand.New(rand.NewPCG(5, 6))
	type triple struct{ svc, key, val string }
	var triples []triple
	for range 20 {
		ev := all[rng.IntN(len(all))]
		for _, a := range ev.Attrs {
			if a.Value.Kind == model.KindString {
				triples = append(triples, triple{ev.ServiceName, a.Key, a.Value.Str})
				break
			}
		}
	}
	triples = append(triples, triple{"service-2", modeltest.AttrKey(4), "value-nope"}, triple{"nobody", modeltest.AttrKey(4), "value-001"})
	narrowed := 0
	for _, tr := range triples {
		want := map[string]float64{}
		for _, ev := range all {
			if ev.ServiceName != tr.svc {
				continue
			}
			for _, a := range ev.Attrs {
				if a.Key == tr.key && a.Value.Kind == model.KindString && a.Value.Str == tr.val {
					want[ev.TraceID.String()]++
				}
			}
		}
		q := store.AggregateQuery{
			Start: modeltest.Epoch, End: modeltest.Epoch.Add(time.Hour),
			Calcs: []store.Calc{{Op: store.CalcCount}}, Breakdowns: []string{model.FieldTraceID},
			Filters: []store.Filter{
				{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str(tr.svc)},
				{Column: tr.key, Op: store.OpEq, Value: model.Str(tr.val)},
			},
		}
		src := sqlgen.AggSource{Table: e.eventsTable()}
		ok, err := searchSource(ctx, s.db, e, q, &src)
		if err != nil || !ok {
			t.Fatalf("%v: search filter not used (%v)", tr, err)
		}
		if !strings.Contains(strings.ReplaceAll(src.Table, ")", " "), "wseq <= 4 ") {
			t.Fatalf("%v: the writes before the filter are not read: %s", tr, src.Table)
		}
		if strings.Count(src.Table, "UNION ALL") < 6 {
			narrowed++
		}
		for _, scan := range []bool{false, true} {
			s.noSearchFilter = scan
			res, err := s.Aggregate(ctx, "prod", q)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, r := range res.Rows {
				got[r.Group[0].(string)] = r.Values[0].Num
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%v (scan %v): got %v, want %v", tr, scan, got, want)
			}
		}
		s.noSearchFilter = false
	}
	if narrowed < len(triples)/2 {
		t.Fatalf("only %d of %d searches read fewer than 6 of the 12 writes", narrowed, len(triples))
	}
}
