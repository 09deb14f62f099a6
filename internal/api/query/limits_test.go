package query_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// storeWith opens a DuckDB store (memory limit mem, "" for DuckDB's own)
// holding n events of dataset "svc" in environment "test", one a
// millisecond over the last minutes, each named op-<i>.
func storeWith(t *testing.T, n int, mem string) *duckdb.Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	logger := slog.New(slog.DiscardHandler)
	st, err := duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-30 * time.Minute)
	evs := make([]model.Event, 0, n)
	for i := range n {
		evs = append(evs, model.Event{Dataset: "svc", Time: start.Add(time.Duration(i) * time.Millisecond), Name: fmt.Sprintf("op-%d", i), SampleRate: 1,
			Attrs: []model.Attr{{Key: "id", Value: model.Str(fmt.Sprintf("value-%08d", i))}}})
	}
	if err := st.Write(ctx, []store.Batch{{Env: "test", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	if mem != "" { // reopen under the limit: the write itself is not what is measured
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if st, err = duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1, MemoryLimit: mem}, logger); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// queryServer serves the query API over st for environment "test" with
// d's settings.
func queryServer(t *testing.T, st *duckdb.Store, d apiquery.Deps) string {
	t.Helper()
	mux := http.NewServeMux()
	d.Auth = auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{Env: "test", Legacy: true}, nil
	})
	d.Store = st
	if d.State == nil {
		d.State = state.NewMemory()
	}
	if err := apiquery.Register(mux, d); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestQueryTimeoutIs504: a query that runs past --query-timeout is stopped
// and answered 504 naming the budget and what to narrow; the server and
// the store keep serving (the same query runs on a server with the
// default budget, and the first server still answers).
func TestQueryTimeoutIs504(t *testing.T) {
	st := storeWith(t, 100_000, "")
	states := state.NewMemory()
	slow := queryServer(t, st, apiquery.Deps{State: states, QueryTimeout: time.Millisecond})
	spec := `{"calculations":[{"op":"COUNT_DISTINCT","column":"id"}],"breakdowns":["name"],"time_range":7200}`
	qid := createQueryID(t, slow, spec)
	began := time.Now()
	code, _, body := do(t, "POST", slow+"/1/query_results/__all__", map[string]any{"query_id": qid})
	took := time.Since(began)
	if code != http.StatusGatewayTimeout || !strings.Contains(string(body), "time budget of 1ms (--query-timeout)") ||
		!strings.Contains(string(body), "narrow the time range") {
		t.Fatalf("a query past its budget: %d %s", code, body)
	}
	t.Logf("504 after %v", took)

	// The same server keeps answering, and the store runs the same query
	// for a server with the default budget.
	if code, _, body := do(t, "GET", slow+"/1/queries/__all__/"+qid, nil); code != 200 {
		t.Fatalf("reading the query back after a timeout: %d %s", code, body)
	}
	fast := queryServer(t, st, apiquery.Deps{State: states})
	began = time.Now()
	createResultID(t, fast, qid)
	t.Logf("the whole query takes %v", time.Since(began))
}

// TestConcatBreakdownTooLargeIs422 reproduces what once answered 500 out
// of memory, a breakdown on a 100 KB CONCAT: a calculated field that makes a
// ~100 KB string of every event, broken down by, needs a hash table of
// distinct 100 KB keys past the store's memory limit. The answer is 422
// saying what to narrow, and a query that fits still runs.
func TestConcatBreakdownTooLargeIs422(t *testing.T) {
	st := storeWith(t, 2_000, "64MB")
	url := queryServer(t, st, apiquery.Deps{})
	pad := strings.Repeat("x", 100_000)
	spec := fmt.Sprintf(`{"calculated_fields":[{"name":"big","expression":"CONCAT($name, \"%s\")"}],`+
		`"calculations":[{"op":"COUNT"}],"breakdowns":["big"],"time_range":3600}`, pad)
	qid := createQueryID(t, url, spec)
	code, _, body := do(t, "POST", url+"/1/query_results/__all__", map[string]any{"query_id": qid})
	if len(body) > 2000 {
		body = body[:2000]
	}
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "more memory than the store may use (--store-memory-limit)") ||
		!strings.Contains(string(body), `"code":"too_large"`) {
		t.Fatalf("a breakdown on 2,000 distinct 100 KB strings under a 64MB limit: %d %s", code, body)
	}
	createResultID(t, url, createQueryID(t, url, `{"calculations":[{"op":"COUNT"}],"breakdowns":["name"],"time_range":3600}`))
}
