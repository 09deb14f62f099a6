package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/ingest"
)

// amplifyingTraces is the amplification request at the scale of
// its second measurement: resAttrs resource attributes over spans tiny
// spans (1,000 × 20,000: a 1 MB body whose events would take 1.2 GB; it
// took RSS to 1.9 GB and then got a retryable 503).
func amplifyingTraces(t testing.TB, resAttrs, spans int) *coltracepb.ExportTraceServiceRequest {
	res := &resourcepb.Resource{}
	for i := range resAttrs {
		res.Attributes = append(res.Attributes, kvInt(fmt.Sprintf("r%d", i), int64(i)))
	}
	ss := &tracepb.ScopeSpans{Spans: make([]*tracepb.Span, spans)}
	tid := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for i := range ss.Spans {
		ss.Spans[i] = &tracepb.Span{TraceId: tid, SpanId: []byte{1, 2, 3, 4, byte(i >> 16), byte(i >> 8), byte(i), 1}}
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{Resource: res, ScopeSpans: []*tracepb.ScopeSpans{ss}}}}
}

// TestTraceDecodedBudget: the trace decoder has the logs and metrics
// decoders' budget: a small request whose events would pass
// MaxDecodedBytes is refused before they are built, on every path, with a
// permanent answer that says why (HTTP 413, gRPC InvalidArgument), never
// a retryable one.
func TestTraceDecodedBudget(t *testing.T) {
	req := amplifyingTraces(t, 1000, 20_000)
	body, err := proto.Marshal(req)
	mustf(t, err, "marshal")
	if len(body) > 1<<20 {
		t.Fatalf("a body of %d bytes: not small", len(body))
	}
	js := toOTLPJSON(t, req)
	for _, c := range []struct {
		name string
		fn   func() (Result, error)
	}{
		{"protobuf", func() (Result, error) { return DecodeProtobuf(body, RequestInfo{}) }},
		{"json", func() (Result, error) { return DecodeJSON(js, RequestInfo{}) }},
		{"convert", func() (Result, error) { return Convert(req, RequestInfo{}) }},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := c.fn()
		runtime.ReadMemStats(&after)
		var tooLarge *DecodedTooLargeError
		if !errors.As(err, &tooLarge) || tooLarge.Limit != DefaultMaxDecodedBytes || tooLarge.Need <= tooLarge.Limit {
			t.Fatalf("%s: err %v, want a DecodedTooLargeError over the default limit", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: %d MB allocated to refuse the request", c.name, alloc>>20)
		}
	}

	rec := &recorder{}
	h := NewHTTPHandler(Config{}, newDeps(rec, nil))
	for _, c := range []struct {
		ct   string
		body []byte
	}{{"application/x-protobuf", body}, {"application/json", js}} {
		a := serveOnce(t, h, http.MethodPost, PathTraces, c.ct, "", goodKey, c.body)
		if a.status != http.StatusRequestEntityTooLarge || a.retryAfter != "" || len(rec.all()) != 0 {
			t.Errorf("%s over HTTP: %d %q (Retry-After %q), %d consume calls; want 413 and none", c.ct, a.status, a.msg, a.retryAfter, len(rec.all()))
		}
		if want := "over the limit of"; !strings.Contains(a.msg, want) {
			t.Errorf("%s: the answer %q does not say why", c.ct, a.msg)
		}
	}

	svc, err := NewTraceService(Config{}, newDeps(rec, nil))
	mustf(t, err, "trace service")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-honeycomb-team", goodKey))
	if _, err := svc.Export(ctx, req); status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "over the limit of") {
		t.Errorf("over gRPC: %v, want InvalidArgument with the reason", err)
	}

	// Over a gRPC connection: the events' bound, and the codec's own for
	// the decoded message (which it leaves for Export to answer).
	for _, limit := range []int64{0, 512 << 10} {
		conn := startGRPCConn(t, Config{MaxDecodedBytes: limit}, newDeps(rec, nil))
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-honeycomb-team", goodKey)
		_, err := coltracepb.NewTraceServiceClient(conn).Export(ctx, req)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "over the limit of") {
			t.Errorf("over a gRPC connection (limit %d): %v %q, want InvalidArgument with the reason", limit, st.Code(), st.Message())
		}
	}
	if len(rec.all()) != 0 {
		t.Errorf("%d consume calls", len(rec.all()))
	}
}

// TestTraceWireFormBudget: the decoded protobuf form counts too: many
// empty spans (2 bytes on the wire, ~300 once decoded, invalid so they
// make no events) are refused once their decoded form passes the limit,
// having allocated about the limit.
func TestTraceWireFormBudget(t *testing.T) {
	ss := &tracepb.ScopeSpans{Spans: make([]*tracepb.Span, 200_000)}
	for i := range ss.Spans {
		ss.Spans[i] = &tracepb.Span{}
	}
	body, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}})
	mustf(t, err, "marshal")
	const limit = 16 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = DecodeProtobuf(body, RequestInfo{MaxDecodedBytes: limit})
	runtime.ReadMemStats(&after)
	var tooLarge *DecodedTooLargeError
	if !errors.As(err, &tooLarge) {
		t.Fatalf("200,000 empty spans (%d bytes) under a 16 MiB limit: %v, want DecodedTooLargeError", len(body), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*limit {
		t.Errorf("%d MB allocated to refuse the request", alloc>>20)
	}
}

// TestDecodeReservesPendingBudget: a request is admitted on the pending
// budget before its events are built: with the budget taken it gets 429
// (gRPC Unavailable) with Retry-After and nothing is built; admitted, its
// reservation goes with the events to the batcher, which holds it (once)
// until the commit.
func TestDecodeReservesPendingBudget(t *testing.T) {
	var during int64
	var b *ingest.Batcher
	b = ingest.NewBatcher(ingest.BatcherConfig{MaxPendingBytes: 4 << 20}, func(context.Context, []ingest.EnvEvents) error {
		during = b.Budget().Used()
		return nil
	}, nil, nil)
	defer b.Close(context.Background())
	deps := Deps{Auth: testAuth, Consumer: b, Pending: b.Budget()}
	h := NewHTTPHandler(Config{}, deps)
	body := benchRequestProto(t, 10, 100, 11) // 1,000 spans: ~150 KB, ~2 MB of events

	other, _ := b.Budget().TryReserve(4<<20 - 64<<10) // another request's
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a := serveOnce(t, h, http.MethodPost, PathTraces, "application/x-protobuf", "", goodKey, body)
	runtime.ReadMemStats(&after)
	if a.status != http.StatusTooManyRequests || a.retryAfter == "" || a.code != codes.Unavailable {
		t.Fatalf("with the budget taken: %d %v %q (Retry-After %q), want 429 Unavailable with Retry-After", a.status, a.code, a.msg, a.retryAfter)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("%d KB allocated to refuse the request: the events were built", alloc>>10)
	}
	if used := b.Budget().Used(); used != other.Bytes() {
		t.Fatalf("the refused request left %d bytes reserved", used-other.Bytes())
	}
	svc, err := NewTraceService(Config{}, deps)
	mustf(t, err, "trace service")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-honeycomb-team", goodKey))
	if _, err := svc.Export(ctx, benchRequest(10, 100, 11)); status.Code(err) != codes.Unavailable {
		t.Fatalf("over gRPC with the budget taken: %v, want Unavailable", err)
	}
	other.Release()

	if a := serveOnce(t, h, http.MethodPost, PathTraces, "application/x-protobuf", "", goodKey, body); a.status != http.StatusOK {
		t.Fatalf("with room: %d %q", a.status, a.msg)
	}
	res, err := DecodeProtobuf(body, RequestInfo{})
	mustf(t, err, "decode")
	if est := ingest.EstimateBytes(res.Events); during < est/2 || during > 2*est+int64(len(body)) {
		t.Errorf("during the commit %d bytes were held for events estimated at %d", during, est)
	}
	if used := b.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes still reserved after the commit", used)
	}
}

// TestDecompressBusy: an OTLP body that cannot get its share of the
// decompression budget in time gets a retryable 503 with Retry-After.
func TestDecompressBusy(t *testing.T) {
	in := ingest.NewInflater(1<<20, 20*time.Millisecond)
	rec := &recorder{}
	deps := newDeps(rec, nil)
	deps.Inflater = in
	h := NewHTTPHandler(Config{}, deps)
	body := gzipped(t, benchRequestProto(t, 1, 10, 2))
	held, _ := in.Budget().TryReserve(1 << 20)
	a := serveOnce(t, h, http.MethodPost, PathTraces, "application/x-protobuf", "gzip", goodKey, body)
	if a.status != http.StatusServiceUnavailable || a.retryAfter == "" || a.code != codes.Unavailable || len(rec.all()) != 0 {
		t.Fatalf("with the decompression budget taken: %d %v %q (Retry-After %q), want 503 with Retry-After", a.status, a.code, a.msg, a.retryAfter)
	}
	held.Release()
	if a := serveOnce(t, h, http.MethodPost, PathTraces, "application/x-protobuf", "gzip", goodKey, body); a.status != http.StatusOK {
		t.Fatalf("with room: %d %q", a.status, a.msg)
	}
	if used := in.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes of the decompression budget still held", used)
	}
}
