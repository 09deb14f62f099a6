package query_test

import (
	"context"
	"testing"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestDeclaredColumnType: a column given a type with the Columns API is
// read as that type: status codes sent as strings, declared integer, are
// compared as numbers (and so is a derived column over them), while
// undeclared they compare as strings.
func TestDeclaredColumnType(t *testing.T) {
	st := storeWith(t, 0, "")
	now := time.Now()
	var evs []model.Event
	for i, code := range []string{"200", "503", "99", "504"} {
		evs = append(evs, model.Event{Dataset: "svc", Time: now.Add(-time.Duration(i+1) * time.Second), Name: "GET /", SampleRate: 1,
			Attrs: []model.Attr{{Key: "code", Value: model.Str(code)}}})
	}
	if err := st.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	ss := state.NewMemory()
	url := queryServer(t, st, apiquery.Deps{State: ss})
	count := func(spec map[string]any) float64 {
		t.Helper()
		spec["calculations"], spec["time_range"] = []any{map[string]any{"op": "COUNT"}}, 600
		res := runQuery(t, url, "svc", spec).Data.Results
		if len(res) == 0 {
			return 0
		}
		return res[0].Data["COUNT"].(float64)
	}
	over := map[string]any{"filters": []any{map[string]any{"column": "code", "op": ">=", "value": "500"}}}
	// As strings, "99" >= "500" too.
	if got := count(over); got != 3 {
		t.Errorf("undeclared: COUNT WHERE code >= \"500\" = %v, want 3 (string order)", got)
	}
	if _, err := ss.Put(context.Background(), state.Record{Kind: "honeycomb.column", Scope: "test", Key: "svc/code",
		Value: []byte(`{"key_name":"code","type":"integer"}`)}, state.MustNotExist); err != nil {
		t.Fatal(err)
	}
	numeric := map[string]any{"filters": []any{map[string]any{"column": "code", "op": ">=", "value": 500}}}
	if got := count(numeric); got != 2 {
		t.Errorf("declared integer: COUNT WHERE code >= 500 = %v, want 2", got)
	}
	if code, _, b := do(t, "POST", url+"/1/derived_columns/svc", map[string]any{"alias": "server_error", "expression": `GTE($code, 500)`}); code != 201 {
		t.Fatalf("derived column: %d %s", code, b)
	}
	if got := count(map[string]any{"filters": []any{map[string]any{"column": "server_error", "op": "=", "value": true}}}); got != 2 {
		t.Errorf("a derived column over the declared integer: COUNT = %v, want 2", got)
	}
}
