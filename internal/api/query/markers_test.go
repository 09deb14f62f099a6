package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/state"
)

// apiServer is the query API with d's settings over st for environment
// "test", every key accepted.
func apiServer(t *testing.T, st state.Store, d apiquery.Deps) string {
	t.Helper()
	mux := http.NewServeMux()
	d.Auth = auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{Env: "test", Legacy: true}, nil
	})
	d.Store, d.State = startServer(t).store, st
	if err := apiquery.Register(mux, d); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func openState(t *testing.T, dir string) *state.FileStore {
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
