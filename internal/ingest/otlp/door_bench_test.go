package otlp

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// rawBytes is a client codec that sends pre-encoded messages as they are,
// as a load generator replaying recorded requests does.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawBytes) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawBytes) Name() string { return "proto" }

// BenchmarkDoor sends the same 500-span export requests (50 traces of 10
// spans, 11 attributes each) over OTLP/HTTP and over OTLP/gRPC, from 4
// concurrent senders (over gRPC sharing one connection, as an OTel
// exporter does), through the real servers to a consumer that keeps
// nothing: the doors' own cost per request, without a store.
func BenchmarkDoor(b *testing.B) {
	body := benchRequestProto(b, 50, 10, 11)
	var spans atomic.Int64
	deps := Deps{Auth: testAuth, Consumer: ingest.ConsumerFunc(func(_ context.Context, _ string, events []model.Event) error {
		spans.Add(int64(len(events)))
		return nil
	})}
	run := func(b *testing.B, send func() error) {
		b.Helper()
		spans.Store(0)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		b.SetParallelism((4 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)) // 4 senders, or the next multiple of GOMAXPROCS
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := send(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		if n := spans.Load(); n != int64(b.N)*500 {
			b.Fatalf("%d spans consumed, want %d", n, b.N*500)
		}
		b.ReportMetric(float64(spans.Load())/b.Elapsed().Seconds(), "spans/s")
	}

	b.Run("http", func(b *testing.B) {
		srv := httptest.NewServer(NewHTTPHandler(Config{}, deps))
		defer srv.Close()
		cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}
		defer cl.CloseIdleConnections()
		run(b, func() error {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/traces", bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("x-honeycomb-team", goodKey)
			resp, err := cl.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &httpStatusError{resp.StatusCode}
			}
			return nil
		})
	})

	b.Run("grpc", func(b *testing.B) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s := grpc.NewServer(GRPCServerOptions(Config{})...)
		RegisterGRPC(s, Config{}, deps)
		go func() { _ = s.Serve(lis) }()
		defer s.Stop()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", goodKey)
		run(b, func() error {
			in, out := body, []byte(nil)
			return conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &in, &out, grpc.ForceCodec(rawBytes{}))
		})
	})
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return http.StatusText(e.code) }
