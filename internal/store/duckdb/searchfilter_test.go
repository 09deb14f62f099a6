package duckdb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
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
	bits := b.bits(bloomBitsPerItem)
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
		ok, err := s.searchSource(ctx, s.db, e, q, &src)
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
			got := countByGroup(t, s, q)
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

// TestBloomCache checks the cache of search filter rows on its own:
// probing, the budget (oldest rows of the largest environment dropped,
// from moving past them) and retention's drops.
func TestBloomCache(t *testing.T) {
	row := func(w int64, triples ...string) bloomRow {
		var b searchBloom
		for _, v := range triples {
			b.add("svc", 1, v, w*10)
		}
		return bloomRow{wseq: w, lo: w * 10, hi: w*10 + 5, bits: b.bits(bloomBitsPerItem)}
	}
	h := func(v string) uint64 { return searchHash("svc", 1, v) }
	c := newBloomCache(10 * (8 + bloomRowOverhead))
	if _, ok := c.probe(1, 0, 1000, h("a"), 64); ok {
		t.Fatal("probe of an environment never loaded answered")
	}
	c.add(1, row(1, "a")) // not loaded: not kept
	c.envs[1] = &envBlooms{loaded: true, from: math.MinInt64}
	for w := int64(1); w <= 8; w++ {
		v := "b"
		if w%2 == 0 {
			v = "a"
		}
		c.add(1, row(w, v))
	}
	res, ok := c.probe(1, 0, 1000, h("a"), 64)
	if !ok || fmt.Sprint(res.seqs) != "[2 4 6 8]" || res.below != math.MinInt64 || res.old != math.MinInt64 {
		t.Fatalf("probe a: %+v %v", res, ok)
	}
	// Time range: writes 3..5 span [30, 55].
	if res, _ := c.probe(1, 30, 50, h("a"), 64); fmt.Sprint(res.seqs) != "[4]" {
		t.Fatalf("probe a in [30, 50): %v", res.seqs)
	}
	// The limit: one past it is reported, so the caller knows.
	if res, _ := c.probe(1, 0, 1000, h("a"), 2); len(res.seqs) != 3 {
		t.Fatalf("probe with limit 2: %v", res.seqs)
	}
	// Another environment's rows push the budget: the largest drops its
	// oldest rows.
	c.envs[2] = &envBlooms{loaded: true, from: math.MinInt64}
	for w := int64(9); w <= 12; w++ {
		c.add(2, row(w, "a"))
	}
	if c.bytes > c.maxBytes {
		t.Fatalf("%d bytes cached, budget %d", c.bytes, c.maxBytes)
	}
	res, _ = c.probe(1, 0, 1000, h("a"), 64)
	if res.below != 3 || fmt.Sprint(res.seqs) != "[4 6 8]" {
		t.Fatalf("after eviction: %+v", res)
	}
	c.dropBefore(1, 60)
	res, _ = c.probe(1, 0, 1000, h("a"), 64)
	if fmt.Sprint(res.seqs) != "[6 8]" {
		t.Fatalf("after dropBefore: %+v", res)
	}
	// A sentinel row stands for old writes and always matches.
	c.envs[3] = &envBlooms{loaded: true, from: math.MinInt64}
	c.add(3, bloomRow{wseq: 4, lo: math.MinInt64, hi: math.MaxInt64, bits: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
	if res, _ := c.probe(3, 0, 1000, h("zzz"), 64); res.old != 4 || len(res.seqs) != 0 {
		t.Fatalf("sentinel: %+v", res)
	}
	c.forget()
	if _, ok := c.probe(1, 0, 1000, h("a"), 64); ok || c.bytes != 0 {
		t.Fatal("forget left rows")
	}
}

// TestSearchFilterCache runs searches with the search filter's rows
// cached whole, cached in part (the older ones asked of blooms_N) and not
// cached, over writes made before and after the cache was loaded, and
// compares each with the counts made from the written events; it also
// checks that the cached bits are the stored ones.
func TestSearchFilterCache(t *testing.T) {
	ctx := context.Background()
	g := modeltest.NewGenerator(4, modeltest.Epoch, time.Millisecond)
	var writes [][]model.Event
	for range 16 {
		var evs []model.Event
		for range 10 {
			evs = g.Trace(evs)
		}
		writes = append(writes, evs)
	}
	// ~1.2 KB of bits per write: 3 writes' rows fit in 4 KiB.
	for _, budget := range []int64{0, 4 << 10, -1} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			s := openTest(t, Config{SearchFilterCacheBytes: budget})
			search := func(svc, key, val string) map[string]float64 {
				t.Helper()
				q := store.AggregateQuery{
					Start: modeltest.Epoch, End: modeltest.Epoch.Add(time.Hour),
					Calcs: []store.Calc{{Op: store.CalcCount}}, Breakdowns: []string{model.FieldTraceID},
					Filters: []store.Filter{
						{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str(svc)},
						{Column: key, Op: store.OpEq, Value: model.Str(val)},
					},
				}
				return countByGroup(t, s, q)
			}
			check := func(upto int) {
				t.Helper()
				rng := rand.New(rand.NewPCG(7, uint64(upto)))
				for range 12 {
					ev := writes[rng.IntN(upto)][rng.IntN(len(writes[0]))]
					var a model.Attr
					for _, x := range ev.Attrs {
						if x.Value.Kind == model.KindString {
							a = x
							break
						}
					}
					if a.Key == "" {
						continue
					}
					want := map[string]float64{}
					for _, w := range writes[:upto] {
						for _, x := range w {
							if x.ServiceName != ev.ServiceName {
								continue
							}
							for _, y := range x.Attrs {
								if y.Key == a.Key && y.Value.Kind == model.KindString && y.Value.Str == a.Value.Str {
									want[x.TraceID.String()]++
								}
							}
						}
					}
					if got := search(ev.ServiceName, a.Key, a.Value.Str); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s %s=%s after %d writes: got %v, want %v", ev.ServiceName, a.Key, a.Value.Str, upto, got, want)
					}
				}
			}
			for _, w := range writes[:8] {
				if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: w}}); err != nil {
					t.Fatal(err)
				}
			}
			check(8) // loads the cache
			// Later filters with more bits per triple: rows of both sizes
			// are probed alike.
			s.cfg.SearchFilterBitsPerItem = 16
			for _, w := range writes[8:] {
				if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: w}}); err != nil {
					t.Fatal(err)
				}
			}
			check(16) // the later writes' rows came with their commits
			e := s.reg.Load().envs["prod"]
			if s.blooms == nil {
				return
			}
			eb := s.blooms.envs[e.id]
			if eb == nil || !eb.loaded || len(eb.rows) == 0 {
				t.Fatal("the cache holds nothing")
			}
			if budget > 0 && (eb.from <= 1 || s.blooms.bytes > budget) {
				t.Fatalf("budget %d: %d bytes cached from write %d", budget, s.blooms.bytes, eb.from)
			}
			for _, r := range eb.rows {
				var bits []byte
				if err := s.db.QueryRow(`SELECT bits::BLOB FROM `+e.bloomsTable()+` WHERE wseq = ?`, r.wseq).Scan(&bits); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(bits, r.bits) {
					t.Fatalf("write %d: cached bits differ from the stored ones", r.wseq)
				}
			}
		})
	}
}

// FuzzSearchBloom builds a filter of arbitrary triples at an arbitrary
// size and checks that each is held, and probes arbitrary bytes (what a
// cached row holds is what blooms_N handed back) without failing.
func FuzzSearchBloom(f *testing.F) {
	f.Add("svc", int32(3), "value-001", uint8(10), []byte{0xff, 0, 1})
	f.Add("", int32(-1), "", uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, svc string, key int32, value string, perItem uint8, raw []byte) {
		var b searchBloom
		for i := range 5 {
			b.add(svc, key+int32(i), value, int64(i))
		}
		bits := b.bits(int(perItem%64) + 1)
		if len(bits) == 0 || len(bits)%8 != 0 {
			t.Fatalf("%d bytes of filter", len(bits))
		}
		for i := range 5 {
			if !mayHold(bits, searchHash(svc, key+int32(i), value)) {
				t.Fatalf("triple %d added but not held", i)
			}
		}
		mayHold(raw, searchHash(svc, key, value))
		c := newBloomCache(1 << 20)
		c.envs[1] = &envBlooms{loaded: true, from: math.MinInt64}
		c.add(1, bloomRow{wseq: 1, lo: 0, hi: 10, bits: raw})
		c.add(1, bloomRow{wseq: 2, lo: 0, hi: 10, bits: bits})
		res, ok := c.probe(1, 0, 11, searchHash(svc, key, value), 64)
		if !ok || !slices.Contains(res.seqs, 2) {
			t.Fatalf("probe: %+v %v", res, ok)
		}
	})
}

// BenchmarkBloomCacheProbe checks 500 cached rows of 2,000 spans' triples
// each (1M spans of BenchmarkSearch's store), as a search does.
func BenchmarkBloomCacheProbe(b *testing.B) {
	c := newBloomCache(1 << 30)
	c.envs[1] = &envBlooms{loaded: true, from: math.MinInt64}
	for w := range int64(500) {
		var sb searchBloom
		for i := range 20_000 {
			sb.add(fmt.Sprint("svc-", i%10), int32(i%97), fmt.Sprint("value-", w, "-", i), w)
		}
		c.add(1, bloomRow{wseq: w, lo: w, hi: w, bits: sb.bits(bloomBitsPerItem)})
	}
	h := searchHash("svc-3", 42, "value-7")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.probe(1, 0, 1000, h, maxSearchWrites); !ok {
			b.Fatal("not loaded")
		}
	}
}

// countByGroup runs q (one breakdown, one calculation) in environment
// prod and returns its rows as group → value.
func countByGroup(t *testing.T, s *Store, q store.AggregateQuery) map[string]float64 {
	t.Helper()
	res, err := s.Aggregate(context.Background(), "prod", q)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range res.Rows {
		got[r.Group[0].(string)] = r.Values[0].Num
	}
	return got
}
