package backend

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSink receives OTLP/HTTP protobuf exports and keeps span names by
// service.name, checking the header the lesson sets.
type otlpSink struct {
	mu    sync.Mutex
	names map[string][]string
	keys  []string
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "unexpected "+r.URL.Path+" "+r.Header.Get("Content-Type"), http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, r.Header.Get("x-honeycomb-team"))
	for _, rs := range req.ResourceSpans {
		svc := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				svc = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.names[svc] = append(s.names[svc], sp.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(out)
}

// TestRunFlushesOnShutdown runs the backend as main does, configured only by
// the standard variables, with a batch delay longer than the test: the spans
// arrive because shutdown flushes them.
func TestRunFlushesOnShutdown(t *testing.T) {
	sink := &otlpSink{names: map[string][]string{}}
	col := httptest.NewServer(sink)
	defer col.Close()
	d := newUDPDaemon(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=lesson-key")
	t.Setenv("OTEL_SERVICE_NAME", "backend-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")

	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"OTEL_SERVICE_NAME": "backend-test", "AWS_XRAY_DAEMON_ADDRESS": d.addr}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, nilLogger(), func(a net.Addr) { addrs <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get("http://" + addr.String() + "/api/activities/home")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitBound):
		t.Fatal("Run did not return after cancel")
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	got := map[string]bool{}
	for _, n := range sink.names["backend-test"] {
		got[n] = true
	}
	for _, want := range []string{"GET /api/activities/home", "home-activities-mock-data", "HTTP GET", "GET /api/health"} {
		if !got[want] {
			t.Errorf("span %q not exported; got %v", want, sink.names)
		}
	}
	for _, k := range sink.keys {
		if k != "lesson-key" {
			t.Errorf("x-honeycomb-team %q", k)
		}
	}
	// The segments went to the daemon address from the configuration, named
	// as the lesson's X-Ray code names them whatever OTEL_SERVICE_NAME says.
	d.wait(t, "for home", func(doc map[string]any) bool {
		return doc["name"] == XRayServiceName && strings.HasSuffix(str(path(doc, "http", "request", "url")), "/api/activities/home")
	})
}
