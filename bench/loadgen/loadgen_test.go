package loadgen

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/bench/workload"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
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
