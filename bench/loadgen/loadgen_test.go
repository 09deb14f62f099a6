package loadgen

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/bench/workload"
)

// TestRunCounts drives Run against a server that pushes back on every
// third call, refuses some spans in a partial success and fails one batch.
func TestRunCounts(t *testing.T) {
	batches, _, err := workload.New(1).Batches(1000, 10) // 10 batches of 100 spans
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	var failed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("x-honeycomb-team") != "k" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.URL.Path != "/v1/traces" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case n%3 == 0:
			w.WriteHeader(http.StatusTooManyRequests)
		case n == 4 && failed.CompareAndSwap(false, true):
			w.WriteHeader(http.StatusBadRequest)
		default:
			b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 1}})
			w.Write(b) //nolint:errcheck
		}
	}))
	defer srv.Close()
	exp := NewHTTP(srv.URL, map[string]string{"x-honeycomb-team": "k"})
	defer exp.Close()
	res := Run(context.Background(), exp, batches, Config{Concurrency: 1, Tick: 10 * time.Millisecond})
	if res.Errored != 100 || res.FirstErr == nil {
		t.Errorf("errored = %d (%v), want one batch of 100", res.Errored, res.FirstErr)
	}
	if res.Accepted != 9*99 || res.Rejected != 9 {
		t.Errorf("accepted %d rejected %d, want %d and 9", res.Accepted, res.Rejected, 9*99)
	}
	if res.Pushbacks == 0 {
		t.Error("no pushback counted")
	}
	var sum int64
	for _, n := range res.Timeline {
		sum += n
	}
	if sum != res.Accepted {
		t.Errorf("timeline sums to %d, accepted %d", sum, res.Accepted)
	}
}

func TestSendUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := workload.New(2)
	sent, err := SendUDP(context.Background(), pc.LocalAddr().String(), 1000, 20, g.XRaySegment)
	if err != nil || sent != 20 {
		t.Fatalf("sent %d, %v", sent, err)
	}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:len(workload.XRayHeader)]) != workload.XRayHeader || n <= len(workload.XRayHeader) {
		t.Errorf("first datagram %q, %v", buf[:n], err)
	}
}

// TestRunOtherSignals: Events API batches go to their own path as JSON and
// a refused event in the per-event answer counts as rejected; log exports
// go to /v1/logs and their partial success counts too.
func TestRunOtherSignals(t *testing.T) {
	sig, err := workload.New(2).SignalBatches(200, 10)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/1/batch/") && r.Header.Get("Content-Type") == "application/json":
			var events []map[string]any
			if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			out := make([]map[string]int, len(events))
			for i := range out {
				out[i] = map[string]int{"status": 202}
			}
			out[0]["status"] = 400         // one refused per batch
			json.NewEncoder(w).Encode(out) //nolint:errcheck
		case r.URL.Path == "/v1/logs":
			b, _ := proto.Marshal(&collogspb.ExportLogsServiceResponse{PartialSuccess: &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: 2}})
			w.Write(b) //nolint:errcheck
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	exp := NewHTTP(srv.URL, nil)
	defer exp.Close()
	ev := Run(context.Background(), exp, sig.Events, Config{Concurrency: 2})
	if ev.Errored != 0 || ev.Accepted+ev.Rejected != 200 || ev.Rejected != int64(len(sig.Events)) {
		t.Errorf("events: accepted %d rejected %d errored %d (%v), want 200 in %d batches, one refused each", ev.Accepted, ev.Rejected, ev.Errored, ev.FirstErr, len(sig.Events))
	}
	lg := Run(context.Background(), exp, sig.Logs, Config{Concurrency: 2})
	if lg.Errored != 0 || lg.Accepted != 200-2*int64(len(sig.Logs)) {
		t.Errorf("logs: accepted %d rejected %d errored %d (%v)", lg.Accepted, lg.Rejected, lg.Errored, lg.FirstErr)
	}
}

// TestRunOrigin: a Run given an earlier Origin puts its spans in the
// buckets after it, none before it started.
func TestRunOrigin(t *testing.T) {
	batches, _, err := workload.New(2).Batches(200, 10) // 2 batches of 100 spans
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	exp := NewHTTP(srv.URL, nil)
	defer exp.Close()
	tick := 10 * time.Millisecond
	res := Run(context.Background(), exp, batches, Config{Concurrency: 1, Tick: tick, Origin: time.Now().Add(-50 * tick)})
	if res.Accepted != 200 {
		t.Fatalf("accepted %d, want 200", res.Accepted)
	}
	if len(res.Timeline) <= 50 {
		t.Fatalf("timeline of %d buckets, want more than the 50 before Run started", len(res.Timeline))
	}
	var sum int64
	for i, n := range res.Timeline {
		if i < 50 && n != 0 {
			t.Errorf("bucket %d (before Run started) holds %d spans", i, n)
		}
		sum += n
	}
	if sum != res.Accepted {
		t.Errorf("timeline sums to %d, accepted %d", sum, res.Accepted)
	}
}
