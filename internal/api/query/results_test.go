package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// clock is a settable clock for Deps.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func createQueryID(t testing.TB, url string, spec string) string {
	t.Helper()
	code, _, body := do(t, "POST", url+"/1/queries/__all__", spec)
	var q struct{ ID string }
	if err := json.Unmarshal(body, &q); code != 200 || err != nil || q.ID == "" {
		t.Fatalf("create query %s: %d %s", spec, code, body)
	}
	return q.ID
}

func createResultID(t testing.TB, url, queryID string) string {
	t.Helper()
	code, _, body := do(t, "POST", url+"/1/query_results/__all__", map[string]any{"query_id": queryID})
	var r struct{ ID string }
	if err := json.Unmarshal(body, &r); code != 201 || err != nil || r.ID == "" {
		t.Fatalf("create result: %d %s", code, body)
	}
	return r.ID
}

// TestQueriesAndResultsSurviveRestart: a query and a result created on one
// server are read on another over the same state store, as after a
// restart or on another node.
func TestQueriesAndResultsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	first := apiServer(t, openState(t, dir), apiquery.Deps{})
	qid := createQueryID(t, first, `{"calculations":[{"op":"COUNT"}],"time_range":600}`)
	rid := createResultID(t, first, qid)
	_, _, before := do(t, "GET", first+"/1/query_results/__all__/"+rid, nil)

	second := apiServer(t, openState(t, dir), apiquery.Deps{})
	code, _, body := do(t, "GET", second+"/1/queries/__all__/"+qid, nil)
	if code != 200 || !strings.Contains(string(body), `"COUNT"`) || !strings.Contains(string(body), `"id":"`+qid+`"`) {
		t.Fatalf("query on the second server: %d %s", code, body)
	}
	code, _, after := do(t, "GET", second+"/1/query_results/__all__/"+rid, nil)
	if code != 200 || string(after) != string(before) {
		t.Fatalf("result on the second server: %d\n%s\nwant\n%s", code, after, before)
	}
	// The second server runs the first one's query too.
	createResultID(t, second, qid)
	if code, _, _ := do(t, "GET", second+"/1/queries/__all__/nope", nil); code != 404 {
		t.Fatalf("unknown query: %d", code)
	}
}

// TestResultsExpire: a result is gone after ResultTTL, and creating new
// ones removes those past their time (more of them than one look-up of
// the oldest reads).
func TestResultsExpire(t *testing.T) {
	clk := &clock{t: time.Now()}
	st := openState(t, t.TempDir())
	url := apiServer(t, st, apiquery.Deps{Now: clk.Now, ResultTTL: time.Hour})
	qid := createQueryID(t, url, `{"calculations":[{"op":"COUNT"}]}`)
	rid := createResultID(t, url, qid)
	for range 70 {
		createResultID(t, url, qid)
	}
	clk.Add(59 * time.Minute)
	if code, _, body := do(t, "GET", url+"/1/query_results/__all__/"+rid, nil); code != 200 {
		t.Fatalf("before the TTL: %d %s", code, body)
	}
	clk.Add(2 * time.Minute)
	if code, _, body := do(t, "GET", url+"/1/query_results/__all__/"+rid, nil); code != 404 || !strings.Contains(string(body), "Query result not found") {
		t.Fatalf("after the TTL: %d %s", code, body)
	}
	createResultID(t, url, qid)
	keys, err := st.Keys(t.Context(), "honeycomb.query-result", "test")
	if err != nil || len(keys) != 1 || keys[0] == rid {
		t.Fatalf("stored results after a create: %v %v (the expired %s should be gone)", keys, err, rid)
	}
}

// TestResultLimit: an environment keeps MaxResults results; the oldest
// give way.
func TestResultLimit(t *testing.T) {
	clk := &clock{t: time.Now()}
	st := openState(t, t.TempDir())
	url := apiServer(t, st, apiquery.Deps{Now: clk.Now, MaxResults: 3})
	qid := createQueryID(t, url, `{"calculations":[{"op":"COUNT"}]}`)
	var ids []string
	for range 5 {
		ids = append(ids, createResultID(t, url, qid))
		clk.Add(time.Second)
	}
	for i, id := range ids {
		code, _, _ := do(t, "GET", url+"/1/query_results/__all__/"+id, nil)
		if want := map[bool]int{true: 404, false: 200}[i < 2]; code != want {
			t.Fatalf("result %d of 5 (%s): %d, want %d", i, id, code, want)
		}
	}
}

// TestQueryLimit: an environment holds MaxQueries queries; saving one it
// already holds still works at the limit.
func TestQueryLimit(t *testing.T) {
	url := apiServer(t, openState(t, t.TempDir()), apiquery.Deps{MaxQueries: 2})
	createQueryID(t, url, `{"calculations":[{"op":"COUNT"}]}`)
	createQueryID(t, url, `{"calculations":[{"op":"MAX","column":"duration_ms"}]}`)
	createQueryID(t, url, `{"calculations":[{"op":"COUNT"}]}`)
	code, _, body := do(t, "POST", url+"/1/queries/__all__", `{"calculations":[{"op":"MIN","column":"duration_ms"}]}`)
	if code != 422 || !strings.Contains(string(body), "at most 2 queries") {
		t.Fatalf("third query: %d %s", code, body)
	}
}

// TestQueryTooLargeIs422: a query that needs more memory than the store's
// limit answers 422 saying what to change, not 500; a query that fits
// still runs.
func TestQueryTooLargeIs422(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.duckdb")
	logger := slog.New(slog.DiscardHandler)
	st, err := duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	const n = 200_000
	evs := make([]model.Event, 0, n)
	for i := range n {
		evs = append(evs, model.Event{Dataset: "svc", Time: start.Add(time.Duration(i) * 10 * time.Millisecond), Name: fmt.Sprintf("op-%d", i), SampleRate: 1,
			Attrs: []model.Attr{{Key: "id", Value: model.Str(fmt.Sprintf("value-%08d-padding-to-make-the-strings-longer", i))}}})
	}
	if err := st.Write(ctx, []store.Batch{{Env: "test", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1, MemoryLimit: "2MB"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	mux := http.NewServeMux()
	if err := apiquery.Register(mux, apiquery.Deps{Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{Env: "test", Legacy: true}, nil
	}), Store: st, State: state.NewMemory()}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	big := createQueryID(t, srv.URL, `{"calculations":[{"op":"COUNT_DISTINCT","column":"id"}],"breakdowns":["name"],"time_range":7200}`)
	code, _, body := do(t, "POST", srv.URL+"/1/query_results/__all__", map[string]any{"query_id": big})
	if code != 422 || !strings.Contains(string(body), "more memory than the store may use") {
		t.Fatalf("a query past the memory limit: %d %s", code, body)
	}
	createResultID(t, srv.URL, createQueryID(t, srv.URL, `{"calculations":[{"op":"COUNT"}],"time_range":60}`))
}

// TestResultDoors: a result's "doors" names one door; the result says
// which one when it is X-Ray's, and says nothing for Honeycomb's, whose
// results look as Honeycomb's do.
func TestResultDoors(t *testing.T) {
	url := apiServer(t, openState(t, t.TempDir()), apiquery.Deps{})
	qid := createQueryID(t, url, `{"calculations":[{"op":"COUNT"}],"time_range":600}`)
	for _, tc := range []struct {
		doors     any
		status    int
		want, not string
	}{
		{doors: []string{"xray"}, status: 201, want: `"doors":["xray"]`},
		{doors: []string{"honeycomb"}, status: 201, not: `"doors"`},
		{doors: nil, status: 201, not: `"doors"`},
		{doors: []string{"xray", "honeycomb"}, status: 422, want: "a query result reads one door's part"},
		{doors: []string{"zipkin"}, status: 422, want: `doors[0]: must be \"honeycomb\" or \"xray\"`},
	} {
		code, _, body := do(t, "POST", url+"/1/query_results/__all__", map[string]any{"query_id": qid, "doors": tc.doors})
		if code != tc.status || !strings.Contains(string(body), tc.want) || tc.not != "" && strings.Contains(string(body), tc.not) {
			t.Errorf("doors %v: %d %s, want %d with %s", tc.doors, code, body, tc.status, tc.want)
		}
	}
}
