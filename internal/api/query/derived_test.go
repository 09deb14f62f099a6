package query_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDerivedColumns: a derived column made through /1/derived_columns is
// a column of its dataset in queries (breakdowns, filters, calculations),
// one made under __all__ of every dataset; a dataset's own one wins over
// the environment's, and a query's own calculated field over both. Bad
// expressions get 422 naming the column of the syntax error; aliases are
// unique per dataset (409); updates change what queries compute.
func TestDerivedColumns(t *testing.T) {
	srv := startServer(t)
	now := time.Now().Truncate(time.Second)
	var spans []spanDef
	for i := range 10 {
		spans = append(spans, spanDef{name: "GET /", dur: time.Duration(20+i*20) * time.Millisecond, start: now.Add(-time.Duration(i+1) * time.Second)})
	}
	sendSpans(t, srv.url, "api", spans) // durations 20, 40, …, 200 ms
	post := func(path string, body any) (int, map[string]any, string) {
		t.Helper()
		code, _, b := do(t, "POST", srv.url+path, body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return code, m, string(b)
	}
	if code, _, raw := post("/1/derived_columns/api", map[string]any{"alias": "speed", "expression": `IF(GT($duration_ms, 100), "slow", "fast")`, "description": "over 100 ms"}); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	if code, _, raw := post("/1/derived_columns/api", map[string]any{"alias": "speed", "expression": `1`}); code != 409 {
		t.Errorf("the same alias again: %d %s, want 409", code, raw)
	}
	code, _, raw := post("/1/derived_columns/api", map[string]any{"alias": "bad", "expression": `IF(GT($duration_ms, 100), "slow"`})
	if code != 422 || !strings.Contains(raw, "expression: at column") {
		t.Errorf("a syntax error: %d %s, want 422 naming its column", code, raw)
	}
	if code, _, raw := post("/1/derived_columns/api", map[string]any{"alias": "x"}); code != 422 || !strings.Contains(raw, `"field":"expression"`) {
		t.Errorf("no expression: %d %s", code, raw)
	}
	if code, _, raw := post("/1/derived_columns/__all__", map[string]any{"alias": "tenths", "expression": `DIV($duration_ms, 10)`}); code != 201 {
		t.Fatalf("create under __all__: %d %s", code, raw)
	}

	counts := func(dataset string, spec map[string]any, key string) map[string]float64 {
		t.Helper()
		out := map[string]float64{}
		for _, r := range runQuery(t, srv.url, dataset, spec).Data.Results {
			out[toString(r.Data[key])] += r.Data["COUNT"].(float64)
		}
		return out
	}
	if got := counts("api", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "breakdowns": []string{"speed"}, "time_range": 600}, "speed"); got["slow"] != 5 || got["fast"] != 5 {
		t.Errorf("COUNT by speed: %v, want 5 slow and 5 fast", got)
	}
	if got := counts("api", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "tenths", "op": ">=", "value": 15}}, "time_range": 600}, ""); got[""] != 3 {
		t.Errorf("COUNT where tenths >= 15 (an environment's derived column on a dataset): %v, want 3", got)
	}
	own := map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "breakdowns": []string{"speed"}, "time_range": 600,
		"calculated_fields": []any{map[string]any{"name": "speed", "expression": `"same"`}}}
	if got := counts("api", own, "speed"); got["same"] != 10 {
		t.Errorf("the query's own calculated field: %v, want 10 same", got)
	}

	// An update changes what queries compute.
	code, list, raw := func() (int, []map[string]any, string) {
		code, _, b := do(t, "GET", srv.url+"/1/derived_columns/api", nil)
		var l []map[string]any
		_ = json.Unmarshal(b, &l)
		return code, l, string(b)
	}()
	if code != 200 || len(list) != 1 || list[0]["alias"] != "speed" {
		t.Fatalf("list: %d %s", code, raw)
	}
	id := list[0]["id"].(string)
	code, _, b := do(t, "PUT", srv.url+"/1/derived_columns/api/"+id, map[string]any{"alias": "speed", "expression": `IF(GT($duration_ms, 150), "slow", "fast")`})
	if code != 200 {
		t.Fatalf("update: %d %s", code, b)
	}
	if got := counts("api", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "breakdowns": []string{"speed"}, "time_range": 600}, "speed"); got["slow"] != 3 {
		t.Errorf("COUNT by speed after the update: %v, want 3 slow", got)
	}
	if code, _, b := do(t, "DELETE", srv.url+"/1/derived_columns/api/"+id, nil); code != 204 {
		t.Errorf("delete: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", srv.url+"/1/derived_columns/api?alias=speed", nil); code != 404 {
		t.Errorf("the deleted derived column: %d %s", code, b)
	}
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
