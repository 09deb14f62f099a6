// Package loadgen sends pre-encoded OTLP export requests to a server over
// OTLP/HTTP (protobuf) or OTLP/gRPC (and other signals' requests, OTLP logs
// or Honeycomb Events API batches, over HTTP), as fast as the server accepts them or
// at a fixed rate, and counts accepted, rejected (the server pushed back
// or refused spans) and errored spans. It also sends X-Ray daemon UDP
// datagrams at a fixed rate.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/bench/workload"
)

// Outcome of one export call.
type Outcome int

// Outcomes.
const (
	Accepted Outcome = iota
	Pushback         // 429/503, RESOURCE_EXHAUSTED/UNAVAILABLE: retry later
	Failed           // anything else
)

// Exporter sends one encoded request (an ExportTraceServiceRequest, or a
// request of another signal to b.Path) and reports how many items the
// server refused in a partial success.
type Exporter interface {
	Export(ctx context.Context, b workload.Batch) (Outcome, int64, error)
	Close() error
}

// HTTPExporter posts to {Endpoint}/v1/traces, or to {Endpoint}{b.Path}.
type HTTPExporter struct {
	Endpoint string
	Headers  map[string]string
	Client   *http.Client
}

// NewHTTP returns an exporter to endpoint (scheme://host:port).
func NewHTTP(endpoint string, headers map[string]string) *HTTPExporter {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	return &HTTPExporter{Endpoint: endpoint, Headers: headers, Client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// Export implements Exporter.
func (e *HTTPExporter) Export(ctx context.Context, b workload.Batch) (Outcome, int64, error) {
	path, ct := b.Path, b.ContentType
	if path == "" {
		path = "/v1/traces"
	}
	if ct == "" {
		ct = "application/x-protobuf"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Endpoint+path, bytes.NewReader(b.Body))
	if err != nil {
		return Failed, 0, err
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return Failed, 0, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK && strings.HasPrefix(path, "/1/batch/"):
		// One status per event, in order; anything but 202 was refused.
		var statuses []struct {
			Status int `json:"status"`
		}
		if err := json.Unmarshal(rb, &statuses); err != nil || len(statuses) != b.Spans {
			return Failed, 0, fmt.Errorf("batch answer of %d statuses for %d events: %v %.200s", len(statuses), b.Spans, err, rb)
		}
		var refused int64
		for _, s := range statuses {
			if s.Status != http.StatusAccepted {
				refused++
			}
		}
		return Accepted, refused, nil
	case resp.StatusCode == http.StatusOK && path == "/v1/logs":
		var out collogspb.ExportLogsServiceResponse
		if len(rb) > 0 && proto.Unmarshal(rb, &out) == nil && out.PartialSuccess != nil {
			return Accepted, out.PartialSuccess.RejectedLogRecords, nil
		}
		return Accepted, 0, nil
	case resp.StatusCode == http.StatusOK:
		var out coltracepb.ExportTraceServiceResponse
		if len(rb) > 0 && proto.Unmarshal(rb, &out) == nil && out.PartialSuccess != nil {
			return Accepted, out.PartialSuccess.RejectedSpans, nil
		}
		return Accepted, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return Pushback, 0, nil
	default:
		return Failed, 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, rb)
	}
}

// Close implements Exporter.
func (e *HTTPExporter) Close() error { e.Client.CloseIdleConnections(); return nil }

// rawCodec sends pre-encoded protobuf bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// GRPCExporter calls TraceService/Export.
type GRPCExporter struct {
	conn *grpc.ClientConn
	md   metadata.MD
}

// NewGRPC dials addr (host:port) without TLS.
func NewGRPC(addr string, headers map[string]string) (*GRPCExporter, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	return &GRPCExporter{conn: conn, md: metadata.New(headers)}, nil
}

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Export implements Exporter (trace export requests only).
func (e *GRPCExporter) Export(ctx context.Context, b workload.Batch) (Outcome, int64, error) {
	if b.Path != "" {
		return Failed, 0, fmt.Errorf("the gRPC exporter sends trace exports, not %s", b.Path)
	}
	ctx = metadata.NewOutgoingContext(ctx, e.md)
	body := b.Body
	var resp []byte
	err := e.conn.Invoke(ctx, exportMethod, &body, &resp, grpc.ForceCodec(rawCodec{}))
	switch status.Code(err) {
	case codes.OK:
		var out coltracepb.ExportTraceServiceResponse
		if proto.Unmarshal(resp, &out) == nil && out.PartialSuccess != nil {
			return Accepted, out.PartialSuccess.RejectedSpans, nil
		}
		return Accepted, 0, nil
	case codes.ResourceExhausted, codes.Unavailable:
		return Pushback, 0, nil
	default:
		return Failed, 0, err
	}
}

// Close implements Exporter.
func (e *GRPCExporter) Close() error { return e.conn.Close() }

// Config of one load run.
type Config struct {
	Concurrency int
	// SpansPerSecond paces the sending; 0 sends as fast as the server
	// accepts.
	SpansPerSecond float64
	// Tick is the width of one Timeline bucket; default 250 ms.
	Tick time.Duration
	// Origin is when Timeline's first bucket starts; default when Run
	// starts. Runs one after another given the same Origin have timelines
	// on one time axis, to be added up.
	Origin time.Time
	// MaxRetries of one batch after pushback before it counts as
	// rejected; default 200.
	MaxRetries int
}

// Result counts spans.
type Result struct {
	Accepted, Rejected, Errored int64
	Pushbacks                   int64 // pushback answers (each retried)
	Elapsed                     time.Duration
	Timeline                    []int64 // spans accepted per Tick
	FirstErr                    error
}

// Run sends every batch once (retrying after pushback with a short
// backoff) and returns the counts.
func Run(ctx context.Context, exp Exporter, batches []workload.Batch, cfg Config) Result {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 200
	}
	var res Result
	var accepted, rejected, errored, pushbacks atomic.Int64
	var mu sync.Mutex
	var timeline []int64
	start := time.Now()
	origin := cfg.Origin
	if origin.IsZero() || origin.After(start) {
		origin = start
	}
	record := func(n int64) {
		accepted.Add(n)
		b := int(time.Since(origin) / cfg.Tick)
		mu.Lock()
		for len(timeline) <= b {
			timeline = append(timeline, 0)
		}
		timeline[b] += n
		mu.Unlock()
	}
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batches) || ctx.Err() != nil {
					return
				}
				b := batches[i]
				if cfg.SpansPerSecond > 0 {
					due := start.Add(time.Duration(float64(i*b.Spans) / cfg.SpansPerSecond * float64(time.Second)))
					time.Sleep(time.Until(due))
				}
				backoff := 5 * time.Millisecond
				for try := 0; ; try++ {
					out, refused, err := exp.Export(ctx, b)
					if out == Accepted {
						rejected.Add(refused)
						record(int64(b.Spans) - refused)
						break
					}
					if out == Failed || try >= cfg.MaxRetries || ctx.Err() != nil {
						if out == Failed {
							errored.Add(int64(b.Spans))
							if err != nil {
								firstErr.CompareAndSwap(nil, err)
							}
						} else {
							rejected.Add(int64(b.Spans))
						}
						break
					}
					pushbacks.Add(1)
					time.Sleep(backoff)
					backoff = min(backoff*2, 200*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Accepted, res.Rejected, res.Errored, res.Pushbacks = accepted.Load(), rejected.Load(), errored.Load(), pushbacks.Load()
	res.Timeline = timeline
	if e, ok := firstErr.Load().(error); ok {
		res.FirstErr = e
	}
	return res
}

// SendUDP sends count X-Ray datagrams made by next to addr at rate
// datagrams per second and returns how many were sent without a local
// error.
func SendUDP(ctx context.Context, addr string, rate float64, count int, next func() []byte) (int, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = next()
	}
	sent := 0
	start := time.Now()
	for i, m := range msgs {
		if ctx.Err() != nil {
			break
		}
		if i%16 == 0 {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
		if _, err := conn.Write(m); err == nil {
			sent++
		}
	}
	return sent, nil
}
