package otlp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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
	return coltracepb.NewTraceServiceClient(startGRPCConn(t, cfg, deps))
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

// TestTraceCodec: the server codec keeps a trace request's bytes for
// Export, which decodes them like proto.Unmarshal; other messages go to
// the standard codec.
func TestTraceCodec(t *testing.T) {
	_, pbBody, _, _ := testBodies(t)
	c := GRPCServerOptions(Config{})
	if len(c) != 2 {
		t.Fatalf("%d server options", len(c))
	}
	codec := wireCodec{base: encoding.GetCodecV2(grpcproto.Name)}
	var got coltracepb.ExportTraceServiceRequest
	mustf(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(pbBody[:10]), mem.SliceBuffer(pbBody[10:])}, &got), "codec")
	if body, ok := keptBody(&got); !ok || !bytes.Equal(body, pbBody) {
		t.Fatalf("codec kept %d bytes (%v), want the request's %d", len(body), ok, len(pbBody))
	}
	var want coltracepb.ExportTraceServiceRequest
	mustf(t, proto.Unmarshal(pbBody, &want), "proto")
	if _, ok := keptBody(&want); ok {
		t.Error("a request decoded by another codec is taken for a kept body")
	}
	var st errdetails.RetryInfo
	b, err := codec.Marshal(&errdetails.RetryInfo{})
	mustf(t, err, "marshal")
	mustf(t, codec.Unmarshal(b, &st), "other message")
	if codec.Name() != "proto" {
		t.Errorf("name %q", codec.Name())
	}

	// Over a connection: the kept body decodes to what proto.Unmarshal
	// reads, with the standard codec's answers to a malformed message.
	rec := &recorder{}
	conn := startGRPCConn(t, Config{}, newDeps(rec, nil))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", goodKey)
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(ctx, &want); err != nil {
		t.Fatal(err)
	}
	viaProto := mustConvert(t, &want)
	if calls := rec.all(); len(calls) != 1 || len(calls[0].events) != len(viaProto.Events) {
		t.Fatalf("consumer got %d calls, want 1 of %d events", len(calls), len(viaProto.Events))
	}
	garbage := []byte{0xff, 0xff}
	for _, key := range []string{goodKey, "nope"} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", key)
		var resp []byte
		err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &garbage, &resp, grpc.ForceCodec(rawCodec{}))
		if st := status.Convert(err); st.Code() != codes.Internal || !strings.HasPrefix(st.Message(), "grpc: error unmarshalling request: ") {
			t.Errorf("garbage with key %q: %v %q, want Internal as gRPC answers an unreadable message", key, st.Code(), st.Message())
		}
	}
	if len(rec.all()) != 1 {
		t.Error("a malformed request reached the consumer")
	}
}

// rawCodec sends bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }
