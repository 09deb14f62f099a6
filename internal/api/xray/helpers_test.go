package xray

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/xrayfilter"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// testFilter validates group filter expressions with the real parser, as
// the app does.
func testFilter(expr string) error {
	_, err := xrayfilter.Parse(expr)
	return err
}

type harness struct {
	h    *Handler
	m    *sampling.Manager
	clk  *fakeClock
	opts Config
}

func newHarness(t testing.TB, mod func(*Config)) *harness {
	t.Helper()
	clk := &fakeClock{t: t0}
	m, err := sampling.New(sampling.Config{Now: clk.Now, ValidateFilter: testFilter})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Meta: m, DefaultEnv: "test", NewRequestID: func() string { return "00000000-0000-4000-8000-000000000000" }}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{h: h, m: m, clk: clk, opts: cfg}
}

type response struct {
	status    int
	errorType string
	requestID string
	body      string
}

func (hs *harness) do(ctx context.Context, method, path, body string) response {
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{status: rec.Code, errorType: rec.Header().Get("X-Amzn-ErrorType"), requestID: rec.Header().Get("x-amzn-RequestId"), body: string(b)}
}

func (hs *harness) post(path, body string) response {
	return hs.do(context.Background(), http.MethodPost, path, body)
}
