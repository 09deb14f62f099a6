package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/model/modeltest"
)

// otlpRequest turns synthetic events (10 spans per trace across 10
// services, 11 attributes each) into one OTLP/protobuf export body.
func otlpRequest(events []model.Event) []byte {
	byService := map[string]*tracepb.ScopeSpans{}
	req := &collpb.ExportTraceServiceRequest{}
	for _, ev := range events {
		ss, ok := byService[ev.ServiceName]
		if !ok {
			ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "bench"}}
			byService[ev.ServiceName] = ss
			req.ResourceSpans = append(req.ResourceSpans, &tracepb.ResourceSpans{
				Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: ev.ServiceName}}}}},
				ScopeSpans: []*tracepb.ScopeSpans{ss},
			})
		}
		start := uint64(ev.Time.UnixNano())
		sp := &tracepb.Span{
			TraceId: ev.TraceID[:], SpanId: ev.SpanID[:], Name: ev.Name, Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start, EndTimeUnixNano: start + uint64(ev.DurationMs*1e6),
		}
		if !ev.ParentID.IsZero() {
			sp.ParentSpanId = ev.ParentID[:]
		}
		for _, a := range ev.Attrs {
			var v commonpb.AnyValue
			switch a.Value.Kind {
			case model.KindInt:
				v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Value.Int}
			case model.KindFloat:
				v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: a.Value.Flt}
			case model.KindBool:
				v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Value.AsBool()}
			default:
				v.Value = &commonpb.AnyValue_StringValue{StringValue: a.Value.Str}
			}
			sp.Attributes = append(sp.Attributes, &commonpb.KeyValue{Key: a.Key, Value: &v})
		}
		ss.Spans = append(ss.Spans, sp)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkIngestPath measures the whole ingest path a user's SDK drives:
// OTLP/HTTP protobuf request → auth → decode → group-commit batcher →
// DuckDB commit → 200, with 4 concurrent senders of 1,000-span requests.
func BenchmarkIngestPath(b *testing.B) {
	benchIngest(b, nil)
}

// benchIngest runs a tracecomb on the default configuration, changed by
// set when not nil, and sends it OTLP/HTTP requests of 1,000 spans from
// 2 × GOMAXPROCS senders, reporting spans/s.
func benchIngest(b *testing.B, set func(*Config)) {
	cfg := DefaultConfig()
	cfg.DataDir = b.TempDir()
	cfg.BootstrapKey = "bench-key-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	if set != nil {
		set(&cfg)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer a.Shutdown(context.Background()) //nolint:errcheck
	const spansPerRequest = 1000
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = otlpRequest(modeltest.GenerateTraces(uint64(i+1), spansPerRequest/10))
	}
	url := "http://" + a.Addrs().HTTP + "/v1/traces"
	client := &http.Client{Timeout: time.Minute}
	b.SetParallelism(2)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("X-Honeycomb-Team", "bench-key-0123456789")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N*spansPerRequest)/time.Since(start).Seconds(), "spans/s")
}
