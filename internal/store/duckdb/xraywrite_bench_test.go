package duckdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// BenchmarkXRayWrite writes X-Ray segments, 1,000 per Write, into a copy
// of the X-Ray read benchmarks' store (-select.spans spans, built once and
// kept in -select.dir), so every Write looks for stored duplicates among
// a store's worth of X-Ray traces:
//
//   - daemon: what the X-Ray daemon benchmark sends, a segment of a new
//     trace per datagram with eleven annotations;
//   - traces: whole traces of 6–14 segments and subsegments whose root
//     comes with the next Write, so half of a Write's traces are stored;
//   - resent: as traces, each Write also resending a tenth of the previous
//     one's segments, which replace their stored copies.
//
// cpu-us/span is the process's CPU time (DuckDB's threads included).
//
// go test ./internal/store/duckdb -run '^$' -bench BenchmarkXRayWrite -benchtime 40x
func BenchmarkXRayWrite(b *testing.B) {
	sb := openSelectBench(b)
	if err := sb.s.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "xray.duckdb")
	if err := copyFileErr(sb.s.cfg.Path, path); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: path, Threads: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// New traces start after the store's hour, 20,000 segments a second.
	g := &xrayGen{rng: rand.New(rand.NewPCG(5, 6)), next: sb.end, step: time.Second / 2000}
	const perWrite = 1000
	write := func(b *testing.B, evs []model.Event) {
		batches := []store.Batch{{Env: xrayEnv, Events: evs}}
		if err := s.Write(ctx, batches); err != nil {
			b.Fatal(err)
		}
		if len(batches[0].Refused) > 0 {
			b.Fatal(batches[0].Refused[0].Err)
		}
	}
	// A first Write loads the store's trace filter (once per environment
	// and process; tracefilter.go), outside the measured writes.
	var warm []model.Event
	for range perWrite {
		warm = append(warm, g.segment())
	}
	start := time.Now()
	write(b, warm)
	b.Logf("first write, the trace filter loaded: %v", time.Since(start).Round(time.Millisecond))
	run := func(b *testing.B, next func() []model.Event) {
		b.ReportAllocs()
		spans := 0
		cpu0 := processCPU()
		for b.Loop() {
			b.StopTimer()
			evs := next()
			b.StartTimer()
			write(b, evs)
			spans += len(evs)
		}
		b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(spans), "cpu-us/span")
	}
	b.Run("daemon", func(b *testing.B) {
		var buf []model.Event
		run(b, func() []model.Event {
			buf = buf[:0]
			for range perWrite {
				buf = append(buf, g.segment())
			}
			return buf
		})
	})
	traces := func(resend int) func() []model.Event {
		var roots, buf, prev []model.Event
		return func() []model.Event {
			prev = append(prev[:0], buf...)
			buf = append(buf[:0], roots...)
			roots = roots[:0]
			for len(buf) < perWrite {
				n := len(buf)
				buf = g.trace(buf)
				roots = append(roots, buf[n])
				buf = append(buf[:n], buf[n+1:]...)
			}
			for i := 0; i < len(prev) && i < resend; i++ {
				buf = append(buf, prev[i*len(prev)/resend])
			}
			return buf
		}
	}
	b.Run("traces", func(b *testing.B) { run(b, traces(0)) })
	b.Run("resent", func(b *testing.B) { run(b, traces(perWrite/10)) })
}

// segment returns a segment of a new trace as the X-Ray daemon benchmark
// sends them: eleven string annotations, the document kept.
func (g *xrayGen) segment() model.Event {
	g.n++
	r := g.rng
	var tid model.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(g.next.Unix()))
	binary.BigEndian.PutUint64(tid[4:12], r.Uint64())
	binary.BigEndian.PutUint32(tid[12:], uint32(g.n))
	var sid model.SpanID
	binary.BigEndian.PutUint64(sid[:], r.Uint64()|1)
	t := g.next
	g.next = g.next.Add(g.step)
	name := fmt.Sprintf("svc-%02d", r.IntN(xrayServices))
	e := model.Event{
		Time: t, Source: model.SourceXRay, TraceID: tid, SpanID: sid,
		DurationMs: 15, SampleRate: 1, SpanKind: "server",
		Dataset: name, ServiceName: name, Name: name,
	}
	for i := range 11 {
		e.Attrs = append(e.Attrs, model.Attr{Key: fmt.Sprintf("annotation_%02d", r.IntN(97)), Value: model.Str(fmt.Sprintf("value-%04d", r.IntN(1000)+i))})
	}
	e.Attrs = dedupAttrs(e.Attrs)
	e.Doc = fmt.Appendf(nil, `{"name":%q,"id":"%x","trace_id":"%s","start_time":%.6f,"end_time":%.6f}`,
		name, sid[:], tid.XRay(), float64(t.UnixMicro())/1e6, float64(t.UnixMicro())/1e6+0.015)
	return e
}

func copyFileErr(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
