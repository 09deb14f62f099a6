package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// TestIngestGateHTTP: once the gate closes, ingest requests get 503 with
// Retry-After and other requests pass; an ingest request whose body was
// read and whose handler still waits (for its commit) when the grace ends
// is answered 503 with Retry-After, and its handler's own late answer is
// dropped.
func TestIngestGateHTTP(t *testing.T) {
	g := newIngestGate()
	waiting := make(chan struct{})
	handlerErr := make(chan error, 1)
	srv := httptest.NewServer(g.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1/auth" {
			w.Write([]byte("read"))
			return
		}
		io.ReadAll(r.Body)
		if r.Header.Get("X-Wait") == "" {
			w.Write([]byte("stored"))
			return
		}
		close(waiting)
		<-r.Context().Done() // the commit it waits for never comes
		w.WriteHeader(http.StatusInternalServerError)
		_, err := w.Write([]byte("too late"))
		handlerErr <- err
	})))
	defer srv.Close()
	post := func(path string, wait bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"a":1}`))
		if wait {
			req.Header.Set("X-Wait", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := post("/v1/traces", false); resp.StatusCode != 200 || body != "stored" {
		t.Fatalf("open gate: %d %q", resp.StatusCode, body)
	}

	type answer struct {
		resp *http.Response
		body string
	}
	inflight := make(chan answer, 1)
	go func() { r, b := post("/1/batch/ds", true); inflight <- answer{r, b} }()
	<-waiting
	drained := make(chan int, 1)
	go func() { drained <- g.drain(context.Background(), 200*time.Millisecond) }()

	for !func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.closed }() {
		time.Sleep(time.Millisecond)
	}
	for _, path := range []string{"/v1/traces", "/v1/logs", "/v1/metrics", "/1/events/ds", "/1/batch/ds", "/TraceSegments"} {
		if resp, _ := post(path, false); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("POST %s on a closed gate: %d, Retry-After %q", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if resp, body := post("/1/auth", false); resp.StatusCode != 200 || body != "read" {
		t.Errorf("a read on a closed gate: %d %q", resp.StatusCode, body)
	}

	a := <-inflight
	if a.resp.StatusCode != http.StatusServiceUnavailable || a.resp.Header.Get("Retry-After") == "" || !strings.Contains(a.body, "shutting down") {
		t.Errorf("in-flight ingest after the grace: %d, Retry-After %q, %q", a.resp.StatusCode, a.resp.Header.Get("Retry-After"), a.body)
	}
	if n := <-drained; n != 1 {
		t.Errorf("drain cut %d requests, want 1", n)
	}
	if err := <-handlerErr; err == nil {
		t.Error("the handler's answer after the gate's was written")
	}
}

// TestIngestGateGRPC: a gRPC call still running when the grace ends is
// answered Unavailable (with RetryInfo), one that succeeds keeps its
// answer, and new calls on a closed gate are refused Unavailable.
func TestIngestGateGRPC(t *testing.T) {
	g := newIngestGate()
	started := make(chan struct{}, 2)
	stuck := func(ctx context.Context, _ any) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	succeeds := func(ctx context.Context, _ any) (any, error) {
		started <- struct{}{}
		<-ctx.Done() // cut, but its commit had succeeded
		return "ok", nil
	}
	type result struct {
		resp any
		err  error
	}
	results := make(chan result, 2)
	for _, h := range []func(context.Context, any) (any, error){stuck, succeeds} {
		go func() {
			resp, err := g.unary(context.Background(), nil, nil, h)
			results <- result{resp, err}
		}()
	}
	<-started
	<-started
	if n := g.drain(context.Background(), 50*time.Millisecond); n != 2 {
		t.Fatalf("drain cut %d calls, want 2", n)
	}
	var unavailable, ok int
	for range 2 {
		r := <-results
		switch {
		case r.err == nil && r.resp == "ok":
			ok++
		case grpcstatus.Code(r.err) == codes.Unavailable && len(grpcstatus.Convert(r.err).Details()) == 1:
			unavailable++
		default:
			t.Errorf("a cut call: %v, %v", r.resp, r.err)
		}
	}
	if unavailable != 1 || ok != 1 {
		t.Errorf("cut calls: %d Unavailable, %d OK; want 1 and 1", unavailable, ok)
	}
	called := false
	_, err := g.unary(context.Background(), nil, nil, func(context.Context, any) (any, error) { called = true; return "ok", nil })
	if grpcstatus.Code(err) != codes.Unavailable || called {
		t.Errorf("a call on a closed gate: %v (handler called: %v)", err, called)
	}
}
