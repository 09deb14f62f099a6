package duckdb

import (
	"cmp"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// TestXRayReplaceMany resends segments of 200 stored traces in one Write:
// traces ten hours apart (more time groups than xrayGroupsMax), their
// index rows partly in the tables and partly rebuilt from the events
// after a crash lost the pending ones. A complete resend replaces its
// stored copy, an in-progress one does not replace a complete one, and a
// new segment of a stored trace is added.
func TestXRayReplaceMany(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	cfg := Config{Path: path, TraceIndexFlushRows: 70}
	s := openTest(t, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	seg := func(tid model.TraceID, at time.Time, name string) model.Event {
		var sid model.SpanID
		binary.BigEndian.PutUint64(sid[:], rng.Uint64()|1)
		return model.Event{Dataset: "svc", ServiceName: "svc", Name: name, Time: at, Source: model.SourceXRay,
			TraceID: tid, SpanID: sid, DurationMs: 5, SampleRate: 1}
	}
	var stored [][]model.Event // per trace: its three segments
	for w := range 10 {
		var evs []model.Event
		for range 20 {
			at := base.Add(time.Duration(w) * 10 * time.Hour).Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			var tid model.TraceID
			binary.BigEndian.PutUint32(tid[:4], uint32(at.Unix()))
			binary.BigEndian.PutUint64(tid[4:12], rng.Uint64())
			binary.BigEndian.PutUint32(tid[12:], rng.Uint32())
			tr := []model.Event{seg(tid, at, "a"), seg(tid, at.Add(time.Millisecond), "b"), seg(tid, at.Add(2*time.Millisecond), "c")}
			stored = append(stored, tr)
			evs = append(evs, tr...)
		}
		if err := s.Write(ctx, []store.Batch{{Env: "x", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, n := s.idx.snapshot(s.reg.Load().envs["x"].id, new([tracesBuckets][]traceRow)); n == 0 {
		t.Fatal("no pending index rows: the test needs some")
	}
	// Before the crash, the trace filter was filled by the writes: a
	// resent segment of the first one is found through it.
	if !s.idx.loaded(s.reg.Load().envs["x"].id) {
		t.Fatal("no trace filter loaded")
	}
	c2 := stored[0][2]
	c2.Name = "c2"
	if err := s.Write(ctx, []store.Batch{{Env: "x", Events: []model.Event{c2}}}); err != nil {
		t.Fatal(err)
	}
	s.idx = newTraceIndex() // a crash: the pending index rows are lost
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, cfg)

	var resend []model.Event
	want := map[model.SpanID]string{}
	for _, tr := range stored {
		a := tr[0]
		a.Name = "a2"
		b := tr[1]
		b.Name = "b-in-progress"
		b.Attrs = []model.Attr{{Key: xrayview.KeyInProgress, Value: model.Bool(true)}}
		n := seg(tr[0].TraceID, tr[2].Time.Add(time.Millisecond), "d")
		resend = append(resend, a, b, n)
		want[a.SpanID], want[b.SpanID], want[tr[2].SpanID], want[n.SpanID] = "a2", "b", "c", "d"
	}
	rng.Shuffle(len(resend), func(i, j int) { resend[i], resend[j] = resend[j], resend[i] })
	if err := s.Write(ctx, []store.Batch{{Env: "x", Events: resend}}); err != nil {
		t.Fatal(err)
	}
	got := map[model.SpanID]string{}
	for ev, err := range s.Scan(ctx, "x", store.ScanQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := got[ev.SpanID]; dup {
			t.Fatalf("span %s stored twice: %q and %q", ev.SpanID, prev, ev.Name)
		}
		got[ev.SpanID] = ev.Name
	}
	if len(got) != len(want) {
		t.Fatalf("%d events stored, want %d", len(got), len(want))
	}
	want[c2.SpanID] = "c2"
	for id, name := range want {
		if got[id] != name {
			t.Fatalf("span %s: %q, want %q", id, got[id], name)
		}
	}
}

func TestXRayGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ranges := map[traceKey]tsRange{}
	var keys []xrayKey
	// 20 clusters of traces, 1,000 apart but a million after every third;
	// traces in a cluster overlap.
	for c := range 20 {
		for i := range 5 {
			tk := traceKey{int64(c), int64(i)}
			lo := int64(c*1000 + c/3*1_000_000 + rng.IntN(50))
			ranges[tk] = tsRange{lo, lo + int64(rng.IntN(100))}
			for sp := range 3 {
				keys = append(keys, xrayKey{tk, int64(sp)})
			}
		}
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, n := range []int{1, 15, 60, len(keys)} {
		groups := xrayGroups(keys[:n], ranges)
		if len(groups) == 0 || len(groups) > xrayGroupsMax {
			t.Fatalf("%d keys: %d groups", n, len(groups))
		}
		var seen []xrayKey
		for _, g := range groups {
			if len(g.his) != len(g.los) || len(g.his) != len(g.spans) || len(g.his) == 0 {
				t.Fatalf("%d keys: group lists of %d, %d, %d keys", n, len(g.his), len(g.los), len(g.spans))
			}
			for i := range g.his {
				k := xrayKey{traceKey{g.his[i], g.los[i]}, g.spans[i]}
				r := ranges[k.trace]
				if r.lo < g.lo || r.hi > g.hi {
					t.Fatalf("%d keys: key %v (%v) outside its group's range %v", n, k, r, g.tsRange)
				}
				seen = append(seen, k)
			}
		}
		want := slices.Clone(keys[:n])
		cmp := func(a, b xrayKey) int {
			if c := cmp.Compare(a.trace.hi, b.trace.hi); c != 0 {
				return c
			}
			if c := cmp.Compare(a.trace.lo, b.trace.lo); c != 0 {
				return c
			}
			return cmp.Compare(a.span, b.span)
		}
		slices.SortFunc(want, cmp)
		slices.SortFunc(seen, cmp)
		if !slices.Equal(seen, want) {
			t.Fatalf("%d keys: the groups hold %d keys, not each once", n, len(seen))
		}
		if n == len(keys) {
			// Cut at the widest gaps: the six million-wide ones, and one more.
			if len(groups) != xrayGroupsMax {
				t.Fatalf("%d groups, want %d", len(groups), xrayGroupsMax)
			}
			for _, g := range groups {
				if g.hi-g.lo > 1_000_000 {
					t.Fatalf("group range %v spans a gap of a million", g.tsRange)
				}
			}
		}
	}
}

func TestTraceFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var f traceFilter
	in := make([]traceKey, traceFilterSegment+1000) // two segments
	for i := range in {
		in[i] = traceKey{int64(rng.Uint64()), int64(rng.Uint64())}
		f.add(in[i])
	}
	if len(f.segs) != 2 {
		t.Fatalf("%d segments, want 2", len(f.segs))
	}
	for _, tk := range in {
		if !f.mayHave(tk) {
			t.Fatalf("%v added, not found", tk)
		}
	}
	fp := 0
	const probes = 100_000
	for range probes {
		if f.mayHave(traceKey{int64(rng.Uint64()), int64(rng.Uint64())}) {
			fp++
		}
	}
	// 16 bits and 4 probes per trace: 0.24% per full segment.
	if rate := float64(fp) / probes; rate > 0.006 {
		t.Fatalf("false positive rate %.4f", rate)
	}
	f.off = true
	if !f.mayHave(traceKey{1, 2}) {
		t.Fatal("a filter that is off must answer maybe")
	}
}
