package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
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
// Besides spans/s it reports the process's CPU seconds per 100k spans
// (server and senders: they share the process), the mean spans per
// commit and the requests' p50 and p99 latency.
func BenchmarkIngestPath(b *testing.B) {
	benchIngest(b, nil)
}

// BenchmarkIngestPathGRPC is BenchmarkIngestPath over OTLP/gRPC: the same
// bodies sent as they are (a raw codec) to TraceService/Export.
func BenchmarkIngestPathGRPC(b *testing.B) {
	benchIngestOver(b, nil, true)
}

// benchIngest runs a tracecomb on the default configuration, changed by
// set when not nil, and sends it OTLP/HTTP requests of 1,000 spans from
// 2 × GOMAXPROCS senders, reporting spans/s.
func benchIngest(b *testing.B, set func(*Config)) { benchIngestOver(b, set, false) }

func benchIngestOver(b *testing.B, set func(*Config), overGRPC bool) {
	cfg := DefaultConfig()
	cfg.DataDir = b.TempDir()
	cfg.BootstrapKey = "bench-key-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	if overGRPC {
		cfg.OTLPGRPCAddr = "127.0.0.1:0"
	}
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
	send := httpSender(b, "http://"+a.Addrs().HTTP+"/v1/traces")
	if overGRPC {
		send = grpcSender(b, a.Addrs().OTLPGRPC)
	}
	var mu sync.Mutex
	var latencies []time.Duration
	commits0, events0 := commitStats(b, a)
	cpu0 := cpuTime()
	b.SetParallelism(2)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		defer func() { mu.Lock(); latencies = append(latencies, mine...); mu.Unlock() }()
		i := 0
		for pb.Next() {
			t := time.Now()
			if err := send(bodies[i%len(bodies)]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
			i++
		}
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	spans := float64(b.N * spansPerRequest)
	b.ReportMetric(spans/elapsed.Seconds(), "spans/s")
	b.ReportMetric(cpu.Seconds()/spans*1e5, "cpu-s/100k")
	if commits, events := commitStats(b, a); commits > commits0 {
		b.ReportMetric((events-events0)/(commits-commits0), "spans/commit")
	}
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1e3, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1e3, "p99-ms")
	}
}

// httpSender posts an OTLP/HTTP protobuf body and wants a 200.
func httpSender(b *testing.B, url string) func([]byte) error {
	client := &http.Client{Timeout: time.Minute}
	b.Cleanup(client.CloseIdleConnections)
	return func(body []byte) error {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Honeycomb-Team", "bench-key-0123456789")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// rawCodec sends an encoded message as it is and keeps the answer's bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// grpcSender calls TraceService/Export with an encoded request body over
// one connection, as an SDK's exporter does.
func grpcSender(b *testing.B, addr string) func([]byte) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	md := metadata.Pairs("x-honeycomb-team", "bench-key-0123456789")
	return func(body []byte) error {
		ctx := metadata.NewOutgoingContext(context.Background(), md)
		var resp []byte
		return conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &resp, grpc.ForceCodec(rawCodec{}))
	}
}

// commitStats reads the batcher's commit-size histogram: commits and the
// events they carried.
func commitStats(b *testing.B, a *App) (commits, events float64) {
	mfs, err := a.metrics.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "tracecomb_store_commit_events" && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return float64(h.GetSampleCount()), h.GetSampleSum()
		}
	}
	b.Fatal("no tracecomb_store_commit_events")
	return 0, 0
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
