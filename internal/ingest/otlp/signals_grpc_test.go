package otlp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

// startGRPCConn serves every OTLP service on a free port, as the app
// does, and returns a connection to it.
func startGRPCConn(t *testing.T, cfg Config, deps Deps) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	mustf(t, err, "listen")
	s := grpc.NewServer(GRPCServerOptions(cfg)...)
	RegisterGRPC(s, cfg, deps)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	mustf(t, err, "dial")
	t.Cleanup(func() {
		_ = conn.Close()
		s.Stop()
		<-done
	})
	return conn
}

// TestGRPCSignals exports logs and metrics over gRPC with every outcome
// the trace service has: the same codes, RetryInfo and messages, nothing
// stored on failure, the dataset header read from the metadata.
func TestGRPCSignals(t *testing.T) {
	bodies := signalBodies(t)
	tests := []struct {
		name        string
		md          []string
		cfg         Config
		consumerErr error
		wantCode    codes.Code
		wantMsg     string
		wantRetry   bool
	}{
		{name: "ok", md: []string{"x-honeycomb-team", goodKey, "x-honeycomb-dataset", "from-grpc"}, wantCode: codes.OK},
		{name: "X-Hny-Team", md: []string{"x-hny-team", goodKey}, wantCode: codes.OK},
		{name: "missing key", wantCode: codes.Unauthenticated, wantMsg: auth.ErrMissingKey.Error()},
		{name: "unknown key", md: []string{"x-honeycomb-team", "nope"}, wantCode: codes.Unauthenticated, wantMsg: auth.ErrUnknownKey.Error()},
		{name: "disabled key", md: []string{"x-honeycomb-team", disabledKey}, wantCode: codes.Unauthenticated, wantMsg: auth.ErrDisabledKey.Error()},
		{name: "overloaded", md: []string{"x-honeycomb-team", goodKey}, consumerErr: ingest.ErrOverloaded, wantCode: codes.Unavailable, wantMsg: "overloaded", wantRetry: true},
		{name: "shutting down", md: []string{"x-honeycomb-team", goodKey}, consumerErr: ingest.ErrShuttingDown, wantCode: codes.Unavailable, wantMsg: "shutting down", wantRetry: true},
		{name: "store failing", md: []string{"x-honeycomb-team", goodKey}, consumerErr: errors.New("disk full"), wantCode: codes.Unavailable, wantMsg: "disk full", wantRetry: true},
		{name: "permanent", md: []string{"x-honeycomb-team", goodKey}, consumerErr: ingest.Permanentf("bad batch"), wantCode: codes.InvalidArgument, wantMsg: "bad batch"},
		{name: "decoded too large", md: []string{"x-honeycomb-team", goodKey}, cfg: Config{MaxDecodedBytes: 1000}, wantCode: codes.InvalidArgument, wantMsg: "over the limit of 1000"},
	}
	for _, tt := range tests {
		for _, b := range bodies[1:] {
			name := signals[b.sig].name
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				rec := &recorder{err: tt.consumerErr}
				reg := prometheus.NewRegistry()
				conn := startGRPCConn(t, tt.cfg, newDeps(rec, reg))
				ctx := context.Background()
				if len(tt.md) > 0 {
					ctx = metadata.AppendToOutgoingContext(ctx, tt.md...)
				}
				var rejected int64
				var partial bool
				var err error
				if b.sig == sigLogs {
					var req collogspb.ExportLogsServiceRequest
					mustf(t, proto.Unmarshal(b.pb, &req), "unmarshal")
					var resp *collogspb.ExportLogsServiceResponse
					resp, err = collogspb.NewLogsServiceClient(conn).Export(ctx, &req)
					rejected, partial = resp.GetPartialSuccess().GetRejectedLogRecords(), resp.GetPartialSuccess() != nil
				} else {
					var req colmetricspb.ExportMetricsServiceRequest
					mustf(t, proto.Unmarshal(b.pb, &req), "unmarshal")
					var resp *colmetricspb.ExportMetricsServiceResponse
					resp, err = colmetricspb.NewMetricsServiceClient(conn).Export(ctx, &req)
					rejected, partial = resp.GetPartialSuccess().GetRejectedDataPoints(), resp.GetPartialSuccess() != nil
				}
				st := status.Convert(err)
				if st.Code() != tt.wantCode || !strings.Contains(st.Message(), tt.wantMsg) {
					t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
				}
				var retry *errdetails.RetryInfo
				for _, d := range st.Details() {
					if ri, ok := d.(*errdetails.RetryInfo); ok {
						retry = ri
					}
				}
				if (retry != nil) != tt.wantRetry {
					t.Errorf("RetryInfo %v, want present=%v", retry, tt.wantRetry)
				}
				events := rec.events()
				if err != nil {
					if len(events) != 0 {
						t.Errorf("%v but %d events stored", st.Code(), len(events))
					}
				} else {
					if len(events) != b.events {
						t.Errorf("stored %d events, want %d", len(events), b.events)
					}
					if rejected != int64(b.rejected) || partial != (b.rejected > 0) {
						t.Errorf("partial success %d (set %v), want %d", rejected, partial, b.rejected)
					}
					if b.sig == sigMetrics {
						want := unknownMetrics
						if tt.name == "ok" {
							want = "from-grpc"
						}
						for _, e := range events {
							if e.Dataset != want {
								t.Fatalf("metric event in dataset %q, want %q", e.Dataset, want)
							}
						}
					}
				}
				if n := counter(t, reg, "tracecomb_otlp_requests_total", map[string]string{"signal": name, "transport": "grpc", "code": tt.wantCode.String()}); n != 1 {
					t.Errorf("requests_total{%s,grpc,%v} = %v, want 1", name, tt.wantCode, n)
				}
			})
		}
	}
}

// TestLogsCodec: the server codec reads logs requests like proto.Unmarshal.
func TestLogsCodec(t *testing.T) {
	b := signalBodies(t)[1]
	codec := wireCodec{base: encoding.GetCodecV2(grpcproto.Name)}
	var got, want collogspb.ExportLogsServiceRequest
	mustf(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b.pb)}, &got), "codec")
	mustf(t, proto.Unmarshal(b.pb, &want), "proto")
	if !proto.Equal(&got, &want) {
		t.Error("codec and proto.Unmarshal disagree")
	}
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0xff})}, &got); err == nil {
		t.Error("garbage: want an error")
	}
}
