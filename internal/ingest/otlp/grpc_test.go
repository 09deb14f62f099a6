package otlp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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

// startGRPC serves the trace service on a free port and returns a client.
func startGRPC(t *testing.T, cfg Config, deps Deps) coltracepb.TraceServiceClient {
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
	return coltracepb.NewTraceServiceClient(conn)
}

func TestGRPCExport(t *testing.T) {
	_, pbBody, _, rejPB := testBodies(t)
	var req, rej coltracepb.ExportTraceServiceRequest
	mustf(t, proto.Unmarshal(pbBody, &req), "unmarshal")
	mustf(t, proto.Unmarshal(rejPB, &rej), "unmarshal")

	tests := []struct {
		name        string
		md          []string
		req         *coltracepb.ExportTraceServiceRequest
		consumerErr error
		wantCode    codes.Code
		wantMsg     string
		wantRetry   bool
		wantEvents  int
		wantRejectd int64
	}{
		{name: "ok", md: []string{"x-honeycomb-team", goodKey}, req: &req, wantCode: codes.OK, wantEvents: 7},
		{name: "X-Hny-Team", md: []string{"x-hny-team", goodKey}, req: &req, wantCode: codes.OK, wantEvents: 7},
		{name: "partial success", md: []string{"x-honeycomb-team", goodKey}, req: &rej, wantCode: codes.OK, wantEvents: 2, wantRejectd: 6},
		{name: "missing key", req: &req, wantCode: codes.Unauthenticated, wantMsg: auth.ErrMissingKey.Error()},
		{name: "unknown key", md: []string{"x-honeycomb-team", "nope"}, req: &req, wantCode: codes.Unauthenticated, wantMsg: auth.ErrUnknownKey.Error()},
		{name: "disabled key", md: []string{"x-honeycomb-team", disabledKey}, req: &req, wantCode: codes.Unauthenticated, wantMsg: auth.ErrDisabledKey.Error()},
		{name: "overloaded", md: []string{"x-honeycomb-team", goodKey}, req: &req, consumerErr: ingest.ErrOverloaded, wantCode: codes.Unavailable, wantMsg: "overloaded", wantRetry: true},
		{name: "shutting down", md: []string{"x-honeycomb-team", goodKey}, req: &req, consumerErr: ingest.ErrShuttingDown, wantCode: codes.Unavailable, wantMsg: "shutting down", wantRetry: true},
		{name: "store failing", md: []string{"x-honeycomb-team", goodKey}, req: &req, consumerErr: errors.New("disk full"), wantCode: codes.Unavailable, wantMsg: "disk full", wantRetry: true},
		{name: "permanent", md: []string{"x-honeycomb-team", goodKey}, req: &req, consumerErr: ingest.Permanentf("bad batch"), wantCode: codes.InvalidArgument, wantMsg: "bad batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{err: tt.consumerErr}
			reg := prometheus.NewRegistry()
			client := startGRPC(t, Config{}, newDeps(rec, reg))
			ctx := context.Background()
			if len(tt.md) > 0 {
				ctx = metadata.AppendToOutgoingContext(ctx, tt.md...)
			}
			resp, err := client.Export(ctx, tt.req)
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
			if (retry != nil) != tt.wantRetry || (retry != nil && retry.GetRetryDelay().AsDuration() <= 0) {
				t.Errorf("RetryInfo %v, want present=%v", retry, tt.wantRetry)
			}
			if got := len(rec.events()); got != tt.wantEvents {
				t.Errorf("stored %d events, want %d", got, tt.wantEvents)
			}
			if err == nil {
				if got := resp.GetPartialSuccess().GetRejectedSpans(); got != tt.wantRejectd {
					t.Errorf("rejected %d, want %d", got, tt.wantRejectd)
				}
				if tt.wantRejectd == 0 && resp.GetPartialSuccess() != nil {
					t.Error("partial_success on full success")
				}
			}
			if n := counter(t, reg, "tracecomb_otlp_requests_total", map[string]string{"transport": "grpc", "code": tt.wantCode.String()}); n != 1 {
				t.Errorf("requests_total{grpc,%v} = %v, want 1", tt.wantCode, n)
			}
		})
	}
}

// TestGRPCMaxMessage: a message over MaxBodyBytes is refused by gRPC
// itself, before any decoding.
func TestGRPCMaxMessage(t *testing.T) {
	_, pbBody, _, _ := testBodies(t)
	var req coltracepb.ExportTraceServiceRequest
	mustf(t, proto.Unmarshal(pbBody, &req), "unmarshal")
	rec := &recorder{}
	client := startGRPC(t, Config{MaxBodyBytes: 100}, newDeps(rec, nil))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", goodKey)
	_, err := client.Export(ctx, &req)
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("got %v, want ResourceExhausted", err)
	}
	if len(rec.all()) != 0 {
		t.Error("oversized message reached the consumer")
	}
}

// TestTraceCodec: the server codec reads trace requests like proto.Unmarshal
// and hands other messages to the standard codec.
func TestTraceCodec(t *testing.T) {
	_, pbBody, _, _ := testBodies(t)
	c := GRPCServerOptions(Config{})
	if len(c) != 2 {
		t.Fatalf("%d server options", len(c))
	}
	codec := wireCodec{base: encoding.GetCodecV2(grpcproto.Name)}
	var got, want coltracepb.ExportTraceServiceRequest
	mustf(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(pbBody)}, &got), "codec")
	mustf(t, proto.Unmarshal(pbBody, &want), "proto")
	if !proto.Equal(&got, &want) {
		t.Error("codec and proto.Unmarshal disagree")
	}
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0xff, 0xff})}, &got); err == nil {
		t.Error("garbage: want an error")
	}
	var st errdetails.RetryInfo
	b, err := codec.Marshal(&errdetails.RetryInfo{})
	mustf(t, err, "marshal")
	mustf(t, codec.Unmarshal(b, &st), "other message")
	if codec.Name() != "proto" {
		t.Errorf("name %q", codec.Name())
	}
}
