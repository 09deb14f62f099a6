package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/store"
)

type healthFunc func(context.Context) error

func (f healthFunc) Healthy(ctx context.Context) error { return f(ctx) }

func TestHealthHandler(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		code     int
		contains string
	}{
		{"healthy", nil, 200, "ok"},
		{"disk full", fmt.Errorf("%w: the store cannot write since 2026-12-07T06:00:00Z", store.ErrNoSpace), 503, "no space left"},
		{"reopening", fmt.Errorf("duckdb store: cannot write: database invalidated"), 503, "database invalidated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			healthHandler(healthFunc(func(context.Context) error { return tc.err })).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.contains) {
				t.Fatalf("%d %q, want %d containing %q", rec.Code, rec.Body.String(), tc.code, tc.contains)
			}
		})
	}
}

// TestHealthzServed: a running server answers /healthz from its store
// without a key.
func TestHealthzServed(t *testing.T) {
	a, _ := testApp(t, t.TempDir())
	resp, err := http.Get("http://" + a.Addrs().HTTP + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}
