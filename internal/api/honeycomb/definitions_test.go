package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

type defsServer struct {
	t    *testing.T
	url  string
	st   state.Store
	defs *Definitions
}

// newDefsServer serves the v1 API over a real store and state store, with
// a dataset "shop" that has the columns my_trace, my_span, my_parent,
// op, took, svc and checkout.id, and a derived column "slow" of it.
func newDefsServer(t *testing.T) *defsServer {
	t.Helper()
	dir := t.TempDir()
	st, err := state.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	db, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(dir, "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := &defsServer{t: t, st: st, defs: NewDefinitions(st)}
	mux := http.NewServeMux()
	Register(mux, Deps{
		Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
			return auth.Principal{Env: "test", Legacy: true}, nil
		}),
		Store: db, State: st, Definitions: s.defs,
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	if code, raw := s.do("POST", "/1/datasets", `{"name":"Shop"}`); code != 201 {
		t.Fatalf("create the dataset: %d %s", code, raw)
	}
	for _, c := range []string{"my_trace", "my_span", "my_parent", "op", "took", "svc", "checkout.id"} {
		if code, raw := s.do("POST", "/1/columns/shop", `{"key_name":"`+c+`"}`); code != 201 {
			t.Fatalf("create column %s: %d %s", c, code, raw)
		}
	}
	if _, err := st.Put(context.Background(), state.Record{Kind: kindDerivedColumn, Scope: "test", Key: "shop/dc1", Value: []byte(`{"id":"dc1","alias":"slow"}`)}, state.MustNotExist); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *defsServer) do(method, path, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("X-Honeycomb-Team", "key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// get returns the dataset's definitions as the API answers them.
func (s *defsServer) get() map[string]*definitionJSON {
	s.t.Helper()
	code, raw := s.do("GET", "/1/dataset_definitions/shop", "")
	var out map[string]*definitionJSON
	if err := json.Unmarshal([]byte(raw), &out); code != 200 || err != nil {
		s.t.Fatalf("GET: %d %s", code, raw)
	}
	return out
}

// TestDatasetDefinitionsAPI: GET answers every definition, the defaults
// where none is set; PATCH sets the named ones (column_type from what the
// column is), clears with "", leaves out and null unchanged.
func TestDatasetDefinitionsAPI(t *testing.T) {
	s := newDefsServer(t)
	got := s.get()
	if len(got) != len(definitions) {
		t.Errorf("GET answers %d definitions, want %d", len(got), len(definitions))
	}
	for name, want := range map[string]*definitionJSON{
		"trace_id":    {Name: "trace.trace_id", ColumnType: "column"},
		"duration_ms": {Name: "duration_ms", ColumnType: "column"},
		"user":        {Name: "user.id", ColumnType: "column"},
	} {
		if g := got[name]; g == nil || *g != *want {
			t.Errorf("default %s: %+v, want %+v", name, g, want)
		}
	}

	code, raw := s.do("PATCH", "/1/dataset_definitions/shop", `{"trace_id":{"name":"my_trace","column_type":"derived_column"},"duration_ms":{"name":"slow"},"route":{"name":"checkout.id"},"name":null}`)
	if code != 200 {
		t.Fatalf("PATCH: %d %s", code, raw)
	}
	var patched map[string]*definitionJSON
	_ = json.Unmarshal([]byte(raw), &patched)
	got = s.get()
	if !maps.EqualFunc(patched, got, func(a, b *definitionJSON) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }) {
		t.Errorf("PATCH answered %s, GET differs: %v", raw, got)
	}
	for name, want := range map[string]definitionJSON{
		"trace_id":    {Name: "my_trace", ColumnType: "column"}, // the body's column_type is ignored
		"duration_ms": {Name: "slow", ColumnType: "derived_column"},
		"route":       {Name: "checkout.id", ColumnType: "column"},
		"name":        {Name: "name", ColumnType: "column"}, // null: unchanged
	} {
		if g := got[name]; g == nil || *g != want {
			t.Errorf("after PATCH %s: %+v, want %+v", name, g, want)
		}
	}

	// Clearing one keeps the others.
	if code, raw := s.do("PATCH", "/1/dataset_definitions/shop", `{"duration_ms":{"name":""}}`); code != 200 {
		t.Fatalf("clear: %d %s", code, raw)
	}
	got = s.get()
	if g := got["duration_ms"]; g == nil || g.Name != "duration_ms" || got["trace_id"].Name != "my_trace" {
		t.Errorf("after clearing duration_ms: %+v, trace_id %+v", g, got["trace_id"])
	}

	for _, c := range []struct {
		body, field, msg string
		code             int
	}{
		{`{"trace_id":{"name":"nope"},"span_id":{"name":"my_span"},"parent_id":{"name":"gone"}}`, "trace_id.name", "The following columns were not found: nope, gone", 422},
		{`{"trace_id":"my_trace"}`, "trace_id", "must be an object", 422},
		{`{"trace_id":{}}`, "trace_id.name", "is required", 422},
		{`{"trace_id":{"name":"` + strings.Repeat("x", 256) + `"}}`, "trace_id.name", "at most 255", 422},
		{`{"trace":{"name":"my_trace"}}`, "trace", "not a dataset definition", 422},
		{`{"trace_id":`, "", "", 400},
	} {
		code, raw := s.do("PATCH", "/1/dataset_definitions/shop", c.body)
		if code != c.code || !strings.Contains(raw, c.msg) || (c.field != "" && !strings.Contains(raw, `"field":"`+c.field+`"`)) {
			t.Errorf("%s: %d %s, want %d naming %q with %q", c.body, code, raw, c.code, c.field, c.msg)
		}
	}
	if g := s.get(); g["trace_id"].Name != "my_trace" || g["span_id"].Name != "trace.span_id" {
		t.Errorf("the refused PATCHes changed the definitions: %+v %+v", g["trace_id"], g["span_id"])
	}
	for _, method := range []string{"GET", "PATCH"} {
		if code, raw := s.do(method, "/1/dataset_definitions/nosuchdataset", `{}`); code != 404 {
			t.Errorf("%s of a dataset that does not exist: %d %s", method, code, raw)
		}
	}

	// Deleting the dataset deletes its definitions.
	if code, raw := s.do("PUT", "/1/datasets/shop", `{"settings":{"delete_protected":false}}`); code != 200 {
		t.Fatalf("unprotect: %d %s", code, raw)
	}
	if code, raw := s.do("DELETE", "/1/datasets/shop", ""); code != 202 {
		t.Fatalf("delete: %d %s", code, raw)
	}
	if _, err := s.st.Get(context.Background(), kindDefinitions, "test", "shop"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("the definitions after the dataset was deleted: %v, want not found", err)
	}
}

// TestDefinitionsFields: what the Events API asks, kept until a PATCH on
// this node or a change reported by the state store; derived columns and
// a definition naming its field's own column map nothing.
func TestDefinitionsFields(t *testing.T) {
	s := newDefsServer(t)
	ctx := context.Background()
	fields := func(dataset string) map[string]string {
		t.Helper()
		f, err := s.defs.Fields(ctx, "test", dataset)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := fields("shop"); f != nil {
		t.Errorf("before any definition: %v, want nil", f)
	}
	body := `{"trace_id":{"name":"my_trace"},"span_id":{"name":"my_span"},"parent_id":{"name":"my_parent"},"name":{"name":"op"},` +
		`"service_name":{"name":"svc"},"duration_ms":{"name":"slow"},"route":{"name":"checkout.id"}}`
	if code, raw := s.do("PATCH", "/1/dataset_definitions/shop", body); code != 200 {
		t.Fatalf("PATCH: %d %s", code, raw)
	}
	want := map[string]string{"my_trace": "trace.trace_id", "my_span": "trace.span_id", "my_parent": "trace.parent_id", "op": "name", "svc": "service.name"}
	for _, name := range []string{"shop", "Shop"} {
		if f := fields(name); !maps.Equal(f, want) {
			t.Errorf("dataset %q after PATCH: %v, want %v", name, f, want)
		}
	}
	if f := fields("other"); f != nil {
		t.Errorf("another dataset: %v, want nil", f)
	}

	// Another node's change reaches this cache as a Change of the state
	// store; until then the cache keeps what it read.
	if _, err := s.st.Put(ctx, state.Record{Kind: kindDefinitions, Scope: "test", Key: "shop", Value: []byte(`{"name":{"name":"took","column_type":"column"}}`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if f := fields("shop"); !maps.Equal(f, want) {
		t.Errorf("before the change is reported: %v, want the kept %v", f, want)
	}
	changes := make(chan state.Change, 2)
	changes <- state.Change{Kind: "honeycomb.column", Scope: "test", Key: "shop/took"}
	changes <- state.Change{Kind: kindDefinitions, Scope: "test", Key: "shop"}
	close(changes)
	s.defs.Follow(changes)
	if f := fields("shop"); !maps.Equal(f, map[string]string{"took": "name"}) {
		t.Errorf("after the change: %v, want took → name", f)
	}
	// A Change of empty kind forgets everything.
	if err := s.st.Delete(ctx, kindDefinitions, "test", "shop", state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	changes = make(chan state.Change, 1)
	changes <- state.Change{}
	close(changes)
	s.defs.Follow(changes)
	if f := fields("shop"); f != nil {
		t.Errorf("after a reload: %v, want nil", f)
	}
}

// BenchmarkDefinitionsFields is the Events API's lookup per request once
// a dataset's definitions are kept (a read-locked map read, the dataset's
// slug computed).
func BenchmarkDefinitionsFields(b *testing.B) {
	dir := b.TempDir()
	st, err := state.OpenFile(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Put(ctx, state.Record{Kind: kindDefinitions, Scope: "test", Key: "backend-flask", Value: []byte(`{"trace_id":{"name":"my_trace","column_type":"column"}}`)}, state.MustNotExist); err != nil {
		b.Fatal(err)
	}
	d := NewDefinitions(st)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if f, err := d.Fields(ctx, "test", "backend-flask"); err != nil || len(f) != 1 {
				b.Fatal(f, err)
			}
		}
	})
}
