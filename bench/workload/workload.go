// Package workload generates the benchmark's trace workload, the shape of
// Jaeger's ClickHouse storage benchmark: traces of 10 spans across 10
// services, each span carrying 11 attributes whose keys are drawn from 97
// keys and whose values are drawn from 1000 values. It encodes the traces
// as OTLP ExportTraceServiceRequest protobuf bodies (the wire format of the
// official OTLP exporters) and as X-Ray daemon UDP datagrams.
package workload

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The workload's dimensions.
const (
	SpansPerTrace = 10
	Services      = 10
	AttrsPerSpan  = 11
	AttrKeys      = 97
	AttrValues    = 1000
)

// ServiceName returns the name of service i.
func ServiceName(i int) string { return fmt.Sprintf("svc-%d", i) }

// AttrKey returns attribute key i.
func AttrKey(i int) string { return fmt.Sprintf("attr_%02d", i) }

// AttrValue returns attribute value i.
func AttrValue(i int) string { return fmt.Sprintf("value_%03d", i) }

// Sample identifies one generated trace and one of its (service, attribute)
// pairs, used to look traces up and to search for them.
type Sample struct {
	TraceID [16]byte
	Service string
	Key     string
	Value   string
}

// TraceIDHex is the 32-digit lowercase hex trace id.
func (s Sample) TraceIDHex() string { return hex.EncodeToString(s.TraceID[:]) }

// Batch is one encoded request: an OTLP trace export (Path and
// ContentType empty), or a request of another signal to Path.
type Batch struct {
	Path        string // e.g. /1/batch/svc-3 or /v1/logs; "" for the exporter's own
	ContentType string
	Body        []byte // protobuf ExportTraceServiceRequest, unless Path says otherwise
	Spans       int    // items carried: spans, events or log records
}

// Generator makes deterministic traces from a seed.
type Generator struct {
	rng *rand.Rand
	now func() time.Time
	// next and step, when step > 0, give trace k the start next+k*step,
	// spreading traces evenly over a window as a steady stream would.
	next time.Time
	step time.Duration
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Now}
}

func (g *Generator) id(b []byte) {
	for i := 0; i < len(b); i += 8 {
		binary.BigEndian.PutUint64(b[i:], g.rng.Uint64()|1)
	}
}

// attrs draws AttrsPerSpan distinct keys and a value for each.
func (g *Generator) attrs() []*commonpb.KeyValue {
	keys := make([]int, 0, AttrsPerSpan)
	for len(keys) < AttrsPerSpan {
		k := g.rng.IntN(AttrKeys)
		dup := false
		for _, x := range keys {
			dup = dup || x == k
		}
		if !dup {
			keys = append(keys, k)
		}
	}
	out := make([]*commonpb.KeyValue, len(keys))
	for i, k := range keys {
		out[i] = &commonpb.KeyValue{Key: AttrKey(k), Value: &commonpb.AnyValue{
			Value: &commonpb.AnyValue_StringValue{StringValue: AttrValue(g.rng.IntN(AttrValues))}}}
	}
	return out
}

// Traces generates n traces as one export request, spans grouped by
// service into one ResourceSpans each, and returns a sample of the first
// trace.
func (g *Generator) Traces(n int) (*coltracepb.ExportTraceServiceRequest, Sample) {
	byService := make([][]*tracepb.Span, Services)
	var sample Sample
	base := g.now().Add(-time.Second)
	for t := 0; t < n; t++ {
		var tid [16]byte
		g.id(tid[:])
		start := base.Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond)
		if g.step > 0 {
			start = g.next
			g.next = g.next.Add(g.step)
		}
		var parent []byte
		for s := 0; s < SpansPerTrace; s++ {
			sid := make([]byte, 8)
			g.id(sid)
			svc := s % Services
			st := start.Add(time.Duration(s) * time.Millisecond)
			span := &tracepb.Span{
				TraceId:           tid[:],
				SpanId:            sid,
				ParentSpanId:      parent,
				Name:              fmt.Sprintf("op-%d", g.rng.IntN(20)),
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				StartTimeUnixNano: uint64(st.UnixNano()),
				EndTimeUnixNano:   uint64(st.Add(time.Duration(1+g.rng.IntN(50_000)) * time.Microsecond).UnixNano()),
				Attributes:        g.attrs(),
				Status:            &tracepb.Status{},
			}
			if t == 0 && s == 3 {
				sample = Sample{TraceID: tid, Service: ServiceName(svc), Key: span.Attributes[0].Key,
					Value: span.Attributes[0].Value.GetStringValue()}
			}
			parent = sid
			byService[svc] = append(byService[svc], span)
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	for i, spans := range byService {
		if len(spans) == 0 {
			continue
		}
		req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
				Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: ServiceName(i)}}}}},
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "tracecomb-bench"}, Spans: spans}},
		})
	}
	return req, sample
}

// StartEvery makes the traces of the following Traces calls start at
// start, start+step, start+2·step, … in the order they are generated;
// step 0 returns to traces starting within the last second.
func (g *Generator) StartEvery(start time.Time, step time.Duration) {
	g.next, g.step = start, step
}

// Window is the time the traces of one Batches call are spread over,
// ending now: the timestamps of a steady stream, not of one burst.
const Window = 30 * time.Minute

// Batches generates batches of tracesPerBatch traces until at least spans
// spans, encoded, with one sample per batch. Trace start times are spread
// evenly over the Window before now.
func (g *Generator) Batches(spans, tracesPerBatch int) ([]Batch, []Sample, error) {
	return g.BatchesOver(spans, tracesPerBatch, Window)
}

// BatchesOver is Batches with trace start times spread evenly over window
// before now, oldest first.
func (g *Generator) BatchesOver(spans, tracesPerBatch int, window time.Duration) ([]Batch, []Sample, error) {
	traces := max(1, (spans+SpansPerTrace-1)/SpansPerTrace)
	g.next, g.step = g.now().Add(-window), window/time.Duration(traces)
	defer func() { g.step = 0 }()
	var out []Batch
	var samples []Sample
	for total := 0; total < spans; {
		n := min(tracesPerBatch, (spans-total+SpansPerTrace-1)/SpansPerTrace)
		req, s := g.Traces(n)
		body, err := proto.Marshal(req)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, Batch{Body: body, Spans: n * SpansPerTrace})
		samples = append(samples, s)
		total += n * SpansPerTrace
	}
	return out, samples, nil
}

// Batch encodes one request of n traces starting about now (the last
// second), as a steady stream sends them.
func (g *Generator) Batch(n int) (Batch, error) {
	req, _ := g.Traces(n)
	body, err := proto.Marshal(req)
	if err != nil {
		return Batch{}, err
	}
	return Batch{Body: body, Spans: n * SpansPerTrace}, nil
}

// XRayHeader is the first line of every daemon datagram.
const XRayHeader = `{"format": "json", "version": 1}` + "\n"

// XRaySegment returns one daemon datagram holding a segment of a new trace
// with AttrsPerSpan annotations, ending now.
func (g *Generator) XRaySegment() []byte {
	now := g.now()
	var tid [12]byte
	g.id(tid[:8])
	binary.BigEndian.PutUint32(tid[8:], g.rng.Uint32())
	var sid [8]byte
	g.id(sid[:])
	b := make([]byte, 0, 600)
	b = append(b, XRayHeader...)
	start := float64(now.UnixMicro())/1e6 - 0.02
	b = fmt.Appendf(b, `{"name":%q,"id":"%x","trace_id":"1-%08x-%x","start_time":%.6f,"end_time":%.6f,"annotations":{`,
		ServiceName(g.rng.IntN(Services)), sid, uint32(now.Unix()), tid, start, start+0.015)
	for i, kv := range g.attrs() {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%q:%q", kv.Key, kv.Value.GetStringValue())
	}
	return append(b, "}}"...)
}
