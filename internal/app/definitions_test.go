package app

import (
	"testing"
)

// TestDatasetDefinitionsMakeTraces: a dataset whose definitions name its
// own columns for the trace id, span id, parent id, name, service and
// duration gets traces from Events API events that carry only those
// columns: /api/traces shows them as spans of one trace, with the columns
// kept under their own names. The same events in a dataset without
// definitions are no trace; clearing the trace id definition stops new
// events from being one.
func TestDatasetDefinitionsMakeTraces(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	for _, ds := range []string{"shop", "plain"} {
		if code, raw, _ := call(t, "POST", base+"/1/datasets", key, `{"name":"`+ds+`"}`, false); code != 201 {
			t.Fatalf("create %s: %d %s", ds, code, raw)
		}
	}
	for _, col := range []string{"my_trace", "my_span", "my_parent", "op", "svc", "took"} {
		if code, raw, _ := call(t, "POST", base+"/1/columns/shop", key, `{"key_name":"`+col+`"}`, false); code != 201 {
			t.Fatalf("create column %s: %d %s", col, code, raw)
		}
	}
	defs := `{"trace_id":{"name":"my_trace"},"span_id":{"name":"my_span"},"parent_id":{"name":"my_parent"},` +
		`"name":{"name":"op"},"service_name":{"name":"svc"},"duration_ms":{"name":"took"}}`
	if code, raw, _ := call(t, "PATCH", base+"/1/dataset_definitions/shop", key, defs, false); code != 200 {
		t.Fatalf("PATCH definitions: %d %s", code, raw)
	}

	batch := func(trace string) string {
		return `[{"time":"2026-12-07T10:00:00Z","data":{"my_trace":"` + trace + `","my_span":"aaaaaaaaaaaaaaa1","op":"GET /checkout","svc":"shop","took":120}},` +
			`{"time":"2026-12-07T10:00:00.01Z","data":{"my_trace":"` + trace + `","my_span":"aaaaaaaaaaaaaaa2","my_parent":"aaaaaaaaaaaaaaa1","op":"SELECT orders","svc":"shop-db","took":30.5}}]`
	}
	send := func(ds, trace string) {
		t.Helper()
		code, raw, _ := call(t, "POST", base+"/1/batch/"+ds, key, batch(trace), false)
		if code != 200 || raw != `[{"status":202},{"status":202}]` {
			t.Fatalf("batch to %s: %d %s", ds, code, raw)
		}
	}
	const traced, untraced, cleared = "5759e988bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272794", "5759e988bd862e3fe1be46a994272795"
	send("shop", traced)
	send("plain", untraced)

	var tr struct {
		Events []map[string]any `json:"events"`
	}
	if code := getJSON(t, base+"/api/traces/"+traced, key, &tr); code != 200 || len(tr.Events) != 2 {
		t.Fatalf("the trace: %d, %d events, want 200 and 2", code, len(tr.Events))
	}
	for i, want := range []map[string]any{
		{"trace.trace_id": traced, "trace.span_id": "aaaaaaaaaaaaaaa1", "name": "GET /checkout", "service.name": "shop", "duration_ms": 120.0, "my_trace": traced, "op": "GET /checkout", "took": 120.0},
		{"trace.trace_id": traced, "trace.span_id": "aaaaaaaaaaaaaaa2", "trace.parent_id": "aaaaaaaaaaaaaaa1", "name": "SELECT orders", "service.name": "shop-db", "duration_ms": 30.5, "my_parent": "aaaaaaaaaaaaaaa1"},
	} {
		for k, v := range want {
			if got := tr.Events[i][k]; got != v {
				t.Errorf("span %d: %s = %v, want %v (event %v)", i, k, got, v, tr.Events[i])
			}
		}
	}
	if _, ok := tr.Events[0]["trace.parent_id"]; ok {
		t.Errorf("the root span has a parent: %v", tr.Events[0])
	}
	if code := getJSON(t, base+"/api/traces/"+untraced, key, nil); code != 404 {
		t.Errorf("the events of the dataset without definitions: %d, want 404 (no trace)", code)
	}

	// Cleared, the trace id definition reverts to trace.trace_id at once.
	if code, raw, _ := call(t, "PATCH", base+"/1/dataset_definitions/shop", key, `{"trace_id":{"name":""}}`, false); code != 200 {
		t.Fatalf("clear: %d %s", code, raw)
	}
	send("shop", cleared)
	if code := getJSON(t, base+"/api/traces/"+cleared, key, nil); code != 404 {
		t.Errorf("events sent after the trace id definition was cleared: %d, want 404", code)
	}
}
