package query_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

// apiServer is the query API with d's settings over st for environment
// "test", every key accepted.
func apiServer(t testing.TB, st state.Store, d apiquery.Deps) string {
	t.Helper()
	mux := http.NewServeMux()
	d.Auth = auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{Env: "test", Legacy: true}, nil
	})
	d.Store, d.State = startServer(t).store, st
	// One span, so that the dataset svc and the columns triggers and SLOs
	// name exist in environment test.
	span := model.Event{Dataset: "svc", Time: time.Now().Add(-time.Minute), TraceID: model.TraceID{1}, SpanID: model.SpanID{1},
		Name: "GET /", ServiceName: "svc", DurationMs: 12, SpanKind: "server", SampleRate: 1,
		Attrs: []model.Attr{{Key: "service.name", Value: model.Str("svc")}}}
	if err := d.Store.(*duckdb.Store).Write(context.Background(), []store.Batch{{Env: "test", Events: []model.Event{span}}}); err != nil {
		t.Fatal(err)
	}
	if err := apiquery.Register(mux, d); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func openState(t testing.TB, dir string) *state.FileStore {
	t.Helper()
	st, err := state.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestImportMarkers: the markers.json of an older data directory moves into
// the state store once, and the file is kept renamed beside it.
func TestImportMarkers(t *testing.T) {
	dir := t.TempDir()
	old := `{"environments":{"test":[
	  {"id":"abc12","start_time":1700000000,"message":"deploy 42","type":"deploy","url":"","color":"","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","dataset":"__all__"},
	  {"id":"def34","start_time":1700000100,"end_time":1700000200,"message":"migration","type":"","url":"https://example.com","color":"","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","dataset":"__all__"}],
	  "other":[{"id":"zzz99","start_time":5,"message":"elsewhere","type":"","url":"","color":"","created_at":"2026-12-01T10:00:00Z","updated_at":"2026-12-01T10:00:00Z","dataset":"__all__"}]}}`
	mdir := filepath.Join(dir, "markers")
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mdir, apiquery.MarkersFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openState(t, dir)
	ctx := context.Background()
	if err := apiquery.ImportMarkers(ctx, st, mdir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mdir, apiquery.MarkersFile+".imported")); err != nil {
		t.Fatalf("the old file is not kept as .imported: %v", err)
	}
	// A second start finds nothing to import and changes nothing.
	if err := apiquery.ImportMarkers(ctx, st, mdir); err != nil {
		t.Fatal(err)
	}
	url := apiServer(t, st, apiquery.Deps{})
	code, _, body := do(t, "GET", url+"/1/markers/__all__", nil)
	var got []apiquery.Marker
	if err := json.Unmarshal(body, &got); code != 200 || err != nil {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	if len(got) != 2 || got[0].ID != "abc12" || got[0].Message != "deploy 42" || got[0].Type != "deploy" ||
		got[1].ID != "def34" || got[1].EndTime == nil || *got[1].EndTime != 1700000200 || got[1].URL != "https://example.com" ||
		!got[0].CreatedAt.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("imported markers of test: %+v", got)
	}
	other, err := st.List(ctx, "honeycomb.marker", "other")
	if err != nil || len(other) != 1 || other[0].Key != "__all__/zzz99" {
		t.Fatalf("markers of other: %+v %v", other, err)
	}
	// An imported marker is an ordinary one: it can be deleted.
	if code, _, body := do(t, "DELETE", url+"/1/markers/__all__/abc12", nil); code != 200 {
		t.Fatalf("delete imported: %d %s", code, body)
	}
}

// TestImportCorruptMarkers: a markers file that is not JSON stops the start
// with its path named, and nothing is imported.
func TestImportCorruptMarkers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, apiquery.MarkersFile), []byte(`{"environments":`), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openState(t, dir)
	err := apiquery.ImportMarkers(context.Background(), st, dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, apiquery.MarkersFile)) {
		t.Fatalf("err = %v, want one naming the file", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, apiquery.MarkersFile)); statErr != nil {
		t.Fatalf("the corrupt file was moved: %v", statErr)
	}
}

// TestMarkerLimit: an environment holds at most MaxMarkers markers; the
// next one is refused with 422 until one is deleted.
func TestMarkerLimit(t *testing.T) {
	st := openState(t, t.TempDir())
	url := apiServer(t, st, apiquery.Deps{MaxMarkers: 3})
	var ids []string
	for i := range 3 {
		code, _, body := do(t, "POST", url+"/1/markers/__all__", map[string]any{"message": "m", "start_time": 100 + i})
		var mk apiquery.Marker
		if err := json.Unmarshal(body, &mk); code != 201 || err != nil {
			t.Fatalf("create %d: %d %s", i, code, body)
		}
		ids = append(ids, mk.ID)
	}
	code, _, body := do(t, "POST", url+"/1/markers/__all__", `{"message":"one too many"}`)
	if code != 422 || !strings.Contains(string(body), "at most 3 markers") {
		t.Fatalf("fourth marker: %d %s", code, body)
	}
	if code, _, body := do(t, "DELETE", url+"/1/markers/__all__/"+ids[0], nil); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, body := do(t, "POST", url+"/1/markers/__all__", `{"message":"fits again"}`); code != 201 {
		t.Fatalf("after a delete: %d %s", code, body)
	}
}

// TestMarkerSettings: marker settings are created, listed, updated and
// deleted per dataset (or __all__) as Honeycomb's Marker Settings API
// does it, and a marker's color is its type's setting, the dataset's
// before the environment's.
func TestMarkerSettings(t *testing.T) {
	base := apiServer(t, state.NewMemory(), apiquery.Deps{})
	req := func(method, path, body string) (int, map[string]any, string) {
		t.Helper()
		return apiCall(t, method, base+path, body)
	}
	code, env, raw := req("POST", "/1/marker_settings/__all__", `{"type":"deploy","color":"#DF4661"}`)
	if code != 201 || env["id"] == "" || env["color"] != "#DF4661" {
		t.Fatalf("create: %d %s", code, raw)
	}
	if code, _, raw := req("POST", "/1/marker_settings/__all__", `{"type":"deploy","color":"#000000"}`); code != 409 {
		t.Errorf("a second setting for a type: %d %s, want 409", code, raw)
	}
	for _, body := range []string{`{"color":"#DF4661"}`, `{"type":"deploy","color":"red"}`, `{"type":"deploy"}`} {
		if code, _, raw := req("POST", "/1/marker_settings/__all__", body); code != 422 {
			t.Errorf("POST %s: %d %s, want 422", body, code, raw)
		}
	}
	if code, _, raw := req("POST", "/1/marker_settings/nope", `{"type":"deploy","color":"#DF4661"}`); code != 404 {
		t.Errorf("a dataset that does not exist: %d %s, want 404", code, raw)
	}
	code, mk, raw := req("POST", "/1/markers/__all__", `{"message":"v42","type":"deploy"}`)
	if code != 201 || mk["color"] != "#DF4661" {
		t.Fatalf("a deploy marker: %d %s, want the setting's color", code, raw)
	}
	if code, other, raw := req("POST", "/1/markers/__all__", `{"message":"x","type":"flag"}`); code != 201 || other["color"] != "" {
		t.Errorf("a marker of a type without a setting: %d %s, want no color", code, raw)
	}
	id := env["id"].(string)
	if code, up, raw := req("PUT", "/1/marker_settings/__all__/"+id, `{"type":"deploy","color":"#00FF00"}`); code != 200 || up["color"] != "#00FF00" || up["id"] != id {
		t.Errorf("update: %d %s", code, raw)
	}
	r, _ := http.NewRequest("GET", base+"/1/markers/__all__", nil)
	r.Header.Set("X-Honeycomb-Team", "k")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	colors := map[any]any{}
	for _, m := range list {
		colors[m["type"]] = m["color"]
	}
	if len(list) != 2 || colors["deploy"] != "#00FF00" || colors["flag"] != "" {
		t.Errorf("markers after the update: %v, want the deploy marker green", list)
	}
	if code, _, raw := req("DELETE", "/1/marker_settings/__all__/"+id, ""); code != 204 {
		t.Errorf("delete: %d %s", code, raw)
	}
	if code, _, raw := req("DELETE", "/1/marker_settings/__all__/"+id, ""); code != 404 {
		t.Errorf("delete again: %d %s, want 404", code, raw)
	}
}

// TestQueryAnnotations: a saved query gets a name and description through
// /1/query_annotations as Honeycomb's API gives them: 201, 400 naming the
// field out of bounds, 404 for a query that does not exist, the query
// fixed once annotated, 204 on delete.
func TestQueryAnnotations(t *testing.T) {
	base := apiServer(t, state.NewMemory(), apiquery.Deps{})
	req := func(method, path, body string) (int, map[string]any, string) {
		t.Helper()
		return apiCall(t, method, base+path, body)
	}
	code, q, raw := req("POST", "/1/queries/__all__", `{"calculations":[{"op":"COUNT"}],"time_range":600}`)
	if code != 200 || q["id"] == nil {
		t.Fatalf("save a query: %d %s", code, raw)
	}
	qid := q["id"].(string)
	code, a, raw := req("POST", "/1/query_annotations/__all__", `{"name":"Requests","description":"all of them","query_id":"`+qid+`"}`)
	if code != 201 || a["query_id"] != qid || a["name"] != "Requests" || a["id"] == nil {
		t.Fatalf("create: %d %s", code, raw)
	}
	id := a["id"].(string)
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"query_id":"` + qid + `"}`, 400, `"field":"name"`},
		{`{"name":"` + strings.Repeat("n", 81) + `","query_id":"` + qid + `"}`, 400, `"field":"name"`},
		{`{"name":"n","description":"` + strings.Repeat("d", 281) + `","query_id":"` + qid + `"}`, 400, `"field":"description"`},
		{`{"name":"n"}`, 400, `"field":"query_id"`},
		{`{"name":"n","query_id":"nosuchquery"}`, 404, "Query not found"},
	} {
		if code, _, raw := req("POST", "/1/query_annotations/__all__", tc.body); code != tc.code || !strings.Contains(raw, tc.want) {
			t.Errorf("POST %.50s: %d %s, want %d with %s", tc.body, code, raw, tc.code, tc.want)
		}
	}
	if code, up, raw := req("PUT", "/1/query_annotations/__all__/"+id, `{"name":"Requests, all","query_id":"`+qid+`"}`); code != 200 || up["name"] != "Requests, all" || up["description"] != "" {
		t.Errorf("update: %d %s", code, raw)
	}
	if code, _, raw := req("PUT", "/1/query_annotations/__all__/"+id, `{"name":"x","query_id":"other"}`); code != 400 || !strings.Contains(raw, "cannot change") {
		t.Errorf("moving an annotation to another query: %d %s, want 400", code, raw)
	}
	if code, got, raw := req("GET", "/1/query_annotations/__all__/"+id, ""); code != 200 || got["name"] != "Requests, all" {
		t.Errorf("get: %d %s", code, raw)
	}
	if code, _, raw := req("GET", "/1/query_annotations/__all__", ""); code != 200 || strings.Count(raw, `"id"`) != 1 {
		t.Errorf("list: %d %s", code, raw)
	}
	if code, _, raw := req("DELETE", "/1/query_annotations/__all__/"+id, ""); code != 204 {
		t.Errorf("delete: %d %s", code, raw)
	}
	if code, _, raw := req("GET", "/1/query_annotations/__all__/"+id, ""); code != 404 {
		t.Errorf("the deleted annotation: %d %s, want 404", code, raw)
	}
}

// apiCall sends method to url with a key and body (none when empty) and
// returns the status, the decoded JSON object and the body.
func apiCall(t *testing.T, method, url, body string) (int, map[string]any, string) {
	t.Helper()
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set("X-Honeycomb-Team", "k")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, string(b)
}
