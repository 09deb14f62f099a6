package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracecomb/tracecomb/internal/api"
)

// shutdownRetryAfter is what an ingest request refused or cut off by
// shutdown is told to wait before sending again (to this server once it
// is back, or to another behind the same address).
const shutdownRetryAfter = 5 * time.Second

// shutdownMessage explains the refusal; the data was not stored.
const shutdownMessage = "tracecomb is shutting down; nothing of this request was acknowledged: retry later"

// errAnsweredOnShutdown is what a handler's writes return once the gate
// has answered its request for it.
var errAnsweredOnShutdown = errors.New("the request was answered 503 because tracecomb is shutting down")

// ingestGate is how shutdown stops ingest before anything else: every
// ingest request (OTLP over HTTP and gRPC, the Events API, X-Ray
// PutTraceSegments on either door) passes it. Once closed it answers new
// ingest requests with a retryable refusal (HTTP 503 with Retry-After,
// gRPC Unavailable with RetryInfo) on connections the doors keep serving,
// so that senders retry instead of seeing a dropped connection; cut then
// answers the requests still in flight the same way, and ends their wait.
type ingestGate struct {
	mu       sync.Mutex
	closed   bool
	inflight map[*gatedCall]struct{}
	idle     chan struct{} // closed when closed and nothing is in flight
}

// gatedCall is one ingest request in flight. cut answers it with a
// retryable refusal unless it has answered already, and makes its handler
// return (its context is cancelled, an HTTP body read fails).
type gatedCall struct {
	cut func()
}

func newIngestGate() *ingestGate {
	return &ingestGate{inflight: map[*gatedCall]struct{}{}, idle: make(chan struct{})}
}

// enter registers a call, or reports that the gate is closed.
func (g *ingestGate) enter(c *gatedCall) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.inflight[c] = struct{}{}
	return true
}

func (g *ingestGate) leave(c *gatedCall) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.inflight, c)
	if g.closed && len(g.inflight) == 0 {
		select {
		case <-g.idle:
		default:
			close(g.idle)
		}
	}
}

// close refuses every ingest request from now on.
func (g *ingestGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	if len(g.inflight) == 0 {
		close(g.idle)
	}
}

// drain closes the gate and waits up to grace for the ingest requests in
// flight to finish; it then cuts those still running and gives them until
// ctx ends (at most a second) to return. It reports how many were cut.
func (g *ingestGate) drain(ctx context.Context, grace time.Duration) int {
	g.close()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-g.idle:
		return 0
	case <-ctx.Done():
	case <-t.C:
	}
	g.mu.Lock()
	calls := make([]*gatedCall, 0, len(g.inflight))
	for c := range g.inflight {
		calls = append(calls, c)
	}
	g.mu.Unlock()
	for _, c := range calls {
		c.cut()
	}
	wait, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	select {
	case <-g.idle:
	case <-wait.Done():
	}
	return len(calls)
}

// isIngestRequest reports whether r sends telemetry: OTLP/HTTP, the
// Events API or X-Ray PutTraceSegments.
func isIngestRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	for _, prefix := range []string{"/v1/traces", "/v1/logs", "/v1/metrics", "/1/events/", "/1/batch/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return p == "/TraceSegments"
}

// writeShutdownRefusal answers 503 with Retry-After and closes the
// connection after the answer (its request body may be unread).
func writeShutdownRefusal(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(shutdownRetryAfter/time.Second)))
	w.Header().Set("Connection", "close")
	api.WriteError(w, http.StatusServiceUnavailable, shutdownMessage)
}

// HTTP gates next's ingest requests; other requests pass untouched.
func (g *ingestGate) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isIngestRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		gw := &gatedWriter{w: w, header: make(http.Header)}
		call := &gatedCall{cut: func() {
			gw.cut()
			cancel()
		}}
		if !g.enter(call) {
			writeShutdownRefusal(w)
			return
		}
		defer g.leave(call)
		next.ServeHTTP(gw, r.WithContext(ctx))
		gw.finish()
	})
}

// gatedWriter is the ResponseWriter of a gated request: the handler's
// writes and the gate's answer are serialized, and once the gate has
// answered, the handler's writes are dropped. The handler has a header
// map of its own, copied when it writes its header, so that the gate can
// answer while the handler still runs.
type gatedWriter struct {
	mu       sync.Mutex
	w        http.ResponseWriter
	header   http.Header
	wrote    bool // the handler started its answer
	answered bool // the gate answered instead
	finished bool // the handler returned: the server finishes the response
}

// finish marks the handler returned: what a cut did happens before the
// server finishes the response, and a later cut does nothing.
func (g *gatedWriter) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.finished = true
}

func (g *gatedWriter) Header() http.Header { return g.header }

func (g *gatedWriter) writeHeaderLocked(code int) {
	dst := g.w.Header()
	for k, v := range g.header {
		dst[k] = v
	}
	g.w.WriteHeader(code)
	if code >= 200 {
		g.wrote = true
	}
}

func (g *gatedWriter) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.answered || g.wrote {
		return
	}
	g.writeHeaderLocked(code)
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.answered {
		return 0, errAnsweredOnShutdown
	}
	if !g.wrote {
		g.writeHeaderLocked(http.StatusOK)
	}
	return g.w.Write(b)
}

// Flush sends what was written (http.Flusher).
func (g *gatedWriter) Flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.answered {
		return
	}
	_ = http.NewResponseController(g.w).Flush()
}

// cut answers the request 503 unless its handler has begun to answer,
// and makes the handler's body reads fail so that it returns. The answer
// does not wait for the rest of the body (full duplex, and the connection
// closes after it).
func (g *gatedWriter) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wrote || g.answered || g.finished {
		return
	}
	g.answered = true
	rc := http.NewResponseController(g.w)
	_ = rc.SetReadDeadline(time.Now())
	_ = rc.EnableFullDuplex()
	writeShutdownRefusal(g.w)
	_ = rc.Flush()
}

// shutdownUnavailable is the gRPC answer of a closed gate: Unavailable
// with RetryInfo, which OTLP exporters retry.
func shutdownUnavailable() error {
	st := grpcstatus.New(codes.Unavailable, shutdownMessage)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(shutdownRetryAfter)}); err == nil {
		st = d
	}
	return st.Err()
}

// unary gates the gRPC door's calls (every call there is OTLP ingest).
// A call cut at the end of the grace is answered Unavailable unless it
// succeeded: its sender retries, and nothing it was told is stored is lost.
func (g *ingestGate) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	wasCut := false
	call := &gatedCall{cut: func() {
		mu.Lock()
		wasCut = true
		mu.Unlock()
		cancel()
	}}
	if !g.enter(call) {
		return nil, shutdownUnavailable()
	}
	defer g.leave(call)
	resp, err := handler(ctx, req)
	mu.Lock()
	defer mu.Unlock()
	if err != nil && wasCut {
		return nil, shutdownUnavailable()
	}
	return resp, err
}

// stream refuses new streaming calls once the gate is closed (OTLP has
// none; this keeps the door's promise for any other service).
func (g *ingestGate) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	call := &gatedCall{cut: func() {}}
	if !g.enter(call) {
		return shutdownUnavailable()
	}
	defer g.leave(call)
	return handler(srv, ss)
}
