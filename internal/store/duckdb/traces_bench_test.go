package duckdb

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// The X-Ray read benchmarks run over a store of -select.spans spans, as
// X-Ray's doors would have stored them: traces of about ten segments and
// subsegments over 40 services, one an hour, an annotation with 2000
// values on each root segment, the segment document kept. Building it
// takes minutes, so it is kept in -select.dir (default: the system's
// temporary directory) and reused while its generator version matches.
var (
	selectSpans = flag.Int("select.spans", 1_000_000, "spans in the X-Ray read benchmarks' store")
	selectDir   = flag.String("select.dir", os.TempDir(), "directory keeping the X-Ray read benchmarks' store between runs")
)

// selectGenVersion changes whenever xrayGen does, so an old cached store
// is rebuilt.
const selectGenVersion = 1

const (
	xrayServices  = 40
	xrayCustomers = 2000
	xrayEnv       = "bench/xray" // store.DoorEnv("bench", model.DoorXRay)
)

// xrayGen produces X-Ray-like traces: a root segment, then segments of
// other services and subsegments under them, 6–14 in all.
type xrayGen struct {
	rng  *rand.Rand
	n    uint64
	next time.Time
	step time.Duration
}

func (g *xrayGen) trace(dst []model.Event) []model.Event {
	g.n++
	r := g.rng
	var tid model.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(g.next.Unix())) // X-Ray ids start with their time
	binary.BigEndian.PutUint64(tid[4:12], r.Uint64())
	binary.BigEndian.PutUint32(tid[12:], uint32(g.n))
	t0 := g.next
	g.next = g.next.Add(g.step)
	spans := 6 + r.IntN(9)
	var ids []model.SpanID
	svcs := []int{r.IntN(xrayServices)}
	for i := range spans {
		var sid model.SpanID
		binary.BigEndian.PutUint64(sid[:], r.Uint64()|1)
		ids = append(ids, sid)
		e := model.Event{
			Time:       t0.Add(time.Duration(i*20+r.IntN(20)) * time.Millisecond),
			Source:     model.SourceXRay,
			TraceID:    tid,
			SpanID:     sid,
			DurationMs: float64(r.IntN(200_000)) / 1000,
			SampleRate: 1,
		}
		svc := svcs[len(svcs)-1]
		switch {
		case i == 0:
			e.SpanKind = "server"
		case i%3 == 1: // a downstream service's segment
			svc = r.IntN(xrayServices)
			svcs = append(svcs, svc)
			e.SpanKind = "server"
			e.ParentID = ids[i-1]
		default: // a subsegment calling out
			e.SpanKind = "client"
			e.ParentID = ids[i-1-(i-1)%3]
		}
		name := fmt.Sprintf("svc-%02d", svc)
		e.Dataset, e.ServiceName, e.Name = name, name, name
		status := int64(200)
		if r.IntN(40) == 0 {
			status = 500
			e.Error = true
		}
		path := fmt.Sprintf("/api/%s/%d", name, r.IntN(30))
		e.Attrs = []model.Attr{
			{Key: "http.method", Value: model.Str([...]string{"GET", "POST", "PUT"}[r.IntN(3)])},
			{Key: "http.url", Value: model.Str("https://" + name + ".example.com" + path)},
			{Key: "http.status_code", Value: model.Int(status)},
			{Key: "aws.xray.sdk", Value: model.Str("X-Ray for Go")},
		}
		if i == 0 {
			e.Attrs = append(e.Attrs, model.Attr{Key: "customer", Value: model.Str(fmt.Sprintf("cust-%04d", r.IntN(xrayCustomers)))})
		}
		e.Doc = fmt.Appendf(nil, `{"name":%q,"id":"%x","trace_id":"%s","start_time":%.6f,"end_time":%.6f,"http":{"request":{"method":"GET","url":"https://%s.example.com%s"},"response":{"status":%d}},"aws":{"xray":{"sdk":"X-Ray for Go","sdk_version":"1.8.4"}}}`,
			name, sid[:], tid.XRay(), float64(e.Time.UnixMicro())/1e6, float64(e.Time.UnixMicro())/1e6+e.DurationMs/1000, name, path, status)
		dst = append(dst, e)
	}
	return dst
}

// selectBench is the benchmarks' store and the time its traces span.
type selectBench struct {
	s          *Store
	start, end time.Time
}

// openSelectBench opens (building it first if needed) the benchmark store.
func openSelectBench(b *testing.B) selectBench {
	b.Helper()
	traces := *selectSpans / 10
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	step := time.Hour / time.Duration(traces)
	sb := selectBench{start: start, end: start.Add(time.Hour)}
	path := filepath.Join(*selectDir, fmt.Sprintf("tracecomb-bench-select-v%d-%d.duckdb", selectGenVersion, *selectSpans))
	done := path + ".complete"
	_, err := os.Stat(done)
	reuse := err == nil
	if !reuse {
		_ = os.Remove(path)
		_ = os.Remove(path + ".wal")
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: path, Threads: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	sb.s = s
	if reuse {
		return sb
	}
	t0 := time.Now()
	g := &xrayGen{rng: rand.New(rand.NewPCG(3, 4)), next: start, step: step}
	// A write holds 1000 traces' segments but not their roots: a root
	// segment is sent when its trace ends, so it comes with the next write.
	var roots, buf []model.Event
	spans := 0
	for spans < *selectSpans {
		buf = append(buf[:0], roots...)
		roots = roots[:0]
		for range 1000 {
			n := len(buf)
			buf = g.trace(buf)
			roots = append(roots, buf[n])
			buf = append(buf[:n], buf[n+1:]...)
		}
		spans += len(buf)
		if err := s.Write(ctx, []store.Batch{{Env: xrayEnv, Events: buf}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Write(ctx, []store.Batch{{Env: xrayEnv, Events: roots}}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	_ = os.WriteFile(done, nil, 0o644)
	b.Logf("wrote %d spans in %v", spans+len(roots), time.Since(t0).Round(time.Millisecond))
	return sb
}

// BenchmarkXRaySelect compares reading what a GetTraceSummaries call with
// the filter `service("svc-07") AND annotation.customer = "cust-0042"`
// needs, over the store's whole hour (X-Ray's API reads 10 minutes more on
// each side so traces reaching into the window are whole):
//
//   - before: a Scan of every event of the window, grouped by trace in Go
//     and filtered there (what internal/api/xray did);
//   - after: SelectTraces with the filter pushed down (MaxTraces as its
//     Limit), then a Scan of the selected traces' events (ScanQuery.TraceIDs);
//   - newest: SelectTraces without a filter, Limit 100 (a page);
//   - count: SelectTraces with Count, the number of traces in the window.
//
// go test ./internal/store/duckdb -run '^$' -bench BenchmarkXRaySelect -benchtime 5x
func BenchmarkXRaySelect(b *testing.B) {
	sb := openSelectBench(b)
	ctx := context.Background()
	slack := 10 * time.Minute
	from, to := sb.start.Add(-slack), sb.end.Add(slack)
	const service, customer = "svc-07", "cust-0042"
	require := []store.SpanMatch{
		{Any: []store.Filter{{Column: model.FieldServiceName, Op: store.OpEq, Value: model.Str(service)}}},
		{Any: []store.Filter{
			{Column: "customer", Op: store.OpEq, Value: model.Str(customer)},
			{Column: "aws.xray.annotations.customer", Op: store.OpEq, Value: model.Str(customer)},
		}},
	}
	matches := func(evs []model.Event) bool {
		svc, cust := false, false
		for i := range evs {
			svc = svc || evs[i].ServiceName == service
			v, ok := evs[i].Get("customer")
			cust = cust || (ok && v.Str == customer)
		}
		return svc && cust
	}
	var wantTraces int
	b.Run("before", func(b *testing.B) {
		var events, traces int
		b.ReportAllocs()
		for b.Loop() {
			byTrace := map[model.TraceID][]model.Event{}
			events = 0
			for ev, err := range sb.s.Scan(ctx, xrayEnv, store.ScanQuery{Start: from, End: to}) {
				if err != nil {
					b.Fatal(err)
				}
				events++
				byTrace[ev.TraceID] = append(byTrace[ev.TraceID], ev)
			}
			traces = 0
			for _, evs := range byTrace {
				if matches(evs) {
					traces++
				}
			}
		}
		wantTraces = traces
		b.ReportMetric(float64(events), "events-read")
		b.ReportMetric(float64(traces), "traces")
	})
	b.Run("after", func(b *testing.B) {
		var events, traces int
		b.ReportAllocs()
		for b.Loop() {
			sel, err := sb.s.SelectTraces(ctx, xrayEnv, store.TraceQuery{Start: sb.start, End: sb.end, Require: require, Limit: 10000})
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]model.TraceID, len(sel.Traces))
			for i, t := range sel.Traces {
				ids[i] = t.ID
			}
			events, traces = 0, len(ids)
			if len(ids) == 0 {
				continue
			}
			for _, err := range sb.s.Scan(ctx, xrayEnv, store.ScanQuery{Start: from, End: to, TraceIDs: ids}) {
				if err != nil {
					b.Fatal(err)
				}
				events++
			}
		}
		if wantTraces != 0 && traces != wantTraces {
			b.Fatalf("selected %d traces, the full scan found %d", traces, wantTraces)
		}
		b.ReportMetric(float64(events), "events-read")
		b.ReportMetric(float64(traces), "traces")
	})
	b.Run("newest", func(b *testing.B) {
		var n int
		b.ReportAllocs()
		for b.Loop() {
			sel, err := sb.s.SelectTraces(ctx, xrayEnv, store.TraceQuery{Start: sb.start, End: sb.end, Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			n = len(sel.Traces)
		}
		b.ReportMetric(float64(n), "traces")
	})
	b.Run("count", func(b *testing.B) {
		var n int
		b.ReportAllocs()
		for b.Loop() {
			sel, err := sb.s.SelectTraces(ctx, xrayEnv, store.TraceQuery{Start: sb.start, End: sb.end, Limit: 100, Count: true})
			if err != nil {
				b.Fatal(err)
			}
			n = sel.Total
		}
		b.ReportMetric(float64(n), "traces-in-range")
	})
}
