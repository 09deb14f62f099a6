// Package modeltest generates synthetic, deterministic spans for tests and
// benchmarks: traces of 10 spans across 10 services, each span with 11
// attributes drawn from 97 keys (strings, integers, floats and booleans)
// and 1000 values per key, durations from a long-tailed distribution, a
// few errors. The same seed always gives the same spans.
package modeltest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Shape of the generated data.
const (
	SpansPerTrace = 10
	Services      = 10
	AttrsPerSpan  = 11
	AttrKeys      = 97
	AttrValues    = 1000
	NamesPerSvc   = 20
)

// Key kinds: keys 0–69 hold strings, 70–84 integers, 85–94 floats, 95–96
// booleans.
func keyKind(k int) model.Kind {
	switch {
	case k < 70:
		return model.KindString
	case k < 85:
		return model.KindInt
	case k < 95:
		return model.KindFloat
	}
	return model.KindBool
}

// AttrKey is the name of attribute key k (0 ≤ k < AttrKeys).
func AttrKey(k int) string { return fmt.Sprintf("app.attr_%02d", k) }

// AttrValue is value v (0 ≤ v < AttrValues) of key k.
func AttrValue(k, v int) model.Value {
	switch keyKind(k) {
	case model.KindInt:
		return model.Int(int64(v))
	case model.KindFloat:
		return model.Float(float64(v) / 8)
	case model.KindBool:
		return model.Bool(v%2 == 1)
	}
	return model.Str(fmt.Sprintf("value-%03d", v))
}

// Service is the name of service i (0 ≤ i < Services).
func Service(i int) string { return fmt.Sprintf("service-%d", i) }

// Generator produces traces one at a time.
type Generator struct {
	rng   *rand.Rand
	seed  uint64
	next  time.Time
	step  time.Duration
	n     uint64
	names [Services][NamesPerSvc]string
	vals  [AttrKeys][]model.Value
	keys  [AttrKeys]string
	perm  [AttrKeys]int
}

// NewGenerator returns a generator whose traces start at start, one every
// step.
func NewGenerator(seed uint64, start time.Time, step time.Duration) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed, next: start, step: step}
	for s := range Services {
		for n := range NamesPerSvc {
			g.names[s][n] = fmt.Sprintf("%s /api/%s/%d", [...]string{"GET", "POST", "PUT", "DELETE"}[n%4], Service(s), n)
		}
	}
	for k := range AttrKeys {
		g.keys[k] = AttrKey(k)
		g.vals[k] = make([]model.Value, AttrValues)
		for v := range AttrValues {
			g.vals[k][v] = AttrValue(k, v)
		}
		g.perm[k] = k
	}
	return g
}

// Trace appends one trace's spans to dst: a server root in one service and
// nine descendants spread over the other services.
func (g *Generator) Trace(dst []model.Event) []model.Event {
	g.n++
	var tid model.TraceID
	binary.BigEndian.PutUint64(tid[:8], g.seed)
	binary.BigEndian.PutUint64(tid[8:], g.n)
	t0 := g.next
	g.next = g.next.Add(g.step)
	r := g.rng
	root := r.IntN(Services)
	var ids [SpansPerTrace]model.SpanID
	for i := range SpansPerTrace {
		binary.BigEndian.PutUint64(ids[i][:], g.n<<8|uint64(i+1))
	}
	for i := range SpansPerTrace {
		svc := (root + i) % Services
		e := model.Event{
			Time:        t0.Add(time.Duration(i) * time.Millisecond),
			Source:      model.SourceOTLP,
			TraceID:     tid,
			SpanID:      ids[i],
			Name:        g.names[svc][r.IntN(NamesPerSvc)],
			ServiceName: Service(svc),
			Dataset:     Service(svc),
			// Log-normal durations: median ≈ 20 ms, long tail.
			DurationMs: math.Round(math.Exp(3+1.2*r.NormFloat64())*1000) / 1000,
			SpanKind:   "internal",
			SampleRate: 1,
		}
		if i == 0 {
			e.SpanKind = "server"
		} else {
			e.ParentID = ids[(i-1)/3]
			if i%3 == 0 {
				e.SpanKind = "client"
			}
		}
		if r.IntN(50) == 0 {
			e.Error = true
			e.StatusCode = 2
		}
		// 11 distinct keys: a partial Fisher–Yates shuffle.
		e.Attrs = make([]model.Attr, AttrsPerSpan)
		for j := range AttrsPerSpan {
			x := j + r.IntN(AttrKeys-j)
			g.perm[j], g.perm[x] = g.perm[x], g.perm[j]
			k := g.perm[j]
			e.Attrs[j] = model.Attr{Key: g.keys[k], Value: g.vals[k][r.IntN(AttrValues)]}
		}
		dst = append(dst, e)
	}
	return dst
}

// GenerateTraces returns n traces (10·n spans) from seed, starting at
// 2026-01-01T00:00:00Z one millisecond apart. For millions of spans use a
// Generator and write its traces in batches instead.
func GenerateTraces(seed uint64, n int) []model.Event {
	g := NewGenerator(seed, Epoch, time.Millisecond)
	out := make([]model.Event, 0, n*SpansPerTrace)
	for range n {
		out = g.Trace(out)
	}
	return out
}

// Epoch is the start time of GenerateTraces.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
