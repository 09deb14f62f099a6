package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/api/honeycomb"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// stuck is a store whose trace reads of the trace stuckID last until their
// context ends, as a read of the store does when it is busy.
type stuck struct{ honeycomb.Reader }

var stuckID = model.TraceID{0xde, 0xad}

func (s stuck) Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	if id != stuckID {
		return s.Reader.Trace(ctx, env, id)
	}
	<-ctx.Done()
	return nil, fmt.Errorf("duckdb store: trace %s: %w", id, ctx.Err())
}

// traceDoor is the UI door (open, on loopback) over the API's
// /api/traces read of r, served over HTTP.
func traceDoor(t *testing.T, r honeycomb.Reader, budget time.Duration) string {
	t.Helper()
	reg, err := auth.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Bootstrap(""); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	honeycomb.Register(mux, honeycomb.Deps{Auth: reg, Store: r, TraceTimeout: budget})
	srv := httptest.NewServer(New(Config{Open: true}, Deps{API: mux, Registry: reg}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func getTrace(t *testing.T, base string, id model.TraceID) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/ui-api/hc/api/traces/"+id.String(), nil)
	req.Header.Set(HeaderUI, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// traceOf stores one trace of n spans of env "test" (Honeycomb's door)
// and returns its id.
func traceOf(t *testing.T, st *duckdb.Store, n int) model.TraceID {
	t.Helper()
	id := model.TraceID{0x0b, 0x1e}
	at := time.Now().Add(-time.Minute)
	evs := make([]model.Event, n)
	for i := range evs {
		evs[i] = model.Event{Dataset: "svc", ServiceName: "svc", Source: model.SourceOTLP, Time: at.Add(time.Duration(i) * time.Microsecond),
			TraceID: id, SpanID: model.SpanID{byte(i >> 16), byte(i >> 8), byte(i), 1}, Name: fmt.Sprintf("op-%d", i), DurationMs: 1, SampleRate: 1}
	}
	if err := st.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestTraceReadPastBudgetIs503: through the UI door, a trace read past its
// time budget answers 503 with Retry-After and the reason, not 500, and
// the door keeps serving other reads.
func TestTraceReadPastBudgetIs503(t *testing.T) {
	st, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	id := traceOf(t, st, 3)
	base := traceDoor(t, stuck{st}, 50*time.Millisecond)
	resp, body := getTrace(t, base, stuckID)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "ran past its time budget of 50ms") || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Fatalf("a trace read past its budget: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, body := getTrace(t, base, id); resp.StatusCode != 200 || strings.Count(body, `"meta.tracecomb.door"`) != 3 {
		t.Fatalf("another trace after: %d %.300s", resp.StatusCode, body)
	}
}

// tooLarge is a store whose reads of the trace bigID fail as the DuckDB
// store's do past its memory limit (read.go wraps DuckDB's out-of-memory
// error in store.ErrQueryTooLarge).
type tooLarge struct{ honeycomb.Reader }

var bigID = model.TraceID{0xb1, 0x9}

func (s tooLarge) Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	if id != bigID {
		return s.Reader.Trace(ctx, env, id)
	}
	return nil, fmt.Errorf("duckdb store: trace %s: %w: Out of Memory Error: failed to allocate data of size 2.0 MiB", id, store.ErrQueryTooLarge)
}

// TestTraceReadTooLargeIs422: through the UI door, a trace whose read
// needs more memory than the store's limit answers 422 saying what to do,
// not 500; other traces still read.
func TestTraceReadTooLargeIs422(t *testing.T) {
	st, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	id := traceOf(t, st, 3)
	base := traceDoor(t, tooLarge{st}, 0)
	resp, body := getTrace(t, base, bigID)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "more memory than the store may use (--store-memory-limit)") ||
		!strings.Contains(body, "?door=xray") || !strings.Contains(body, `"code":"too_large"`) {
		t.Fatalf("a trace past the memory limit: %d %.500s", resp.StatusCode, body)
	}
	if resp, body := getTrace(t, base, id); resp.StatusCode != 200 || strings.Count(body, `"meta.tracecomb.door"`) != 3 {
		t.Fatalf("another trace after: %d %.300s", resp.StatusCode, body)
	}
}
