package query_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestWireGolden pins the JSON the API sends: a query echo, a complete
// result with rows, series and a heatmap, and a 422 problem body.
func TestWireGolden(t *testing.T) {
	srv := startServer(t)
	base := time.Date(2026, 2, 3, 4, 0, 0, 0, time.UTC)
	var evs []model.Event
	for i := range 6 {
		name := "GET /a"
		if i >= 4 {
			name = "GET /b"
		}
		e := model.Event{Dataset: "api", ServiceName: "api", Time: base.Add(time.Duration(i) * 50 * time.Second), Name: name,
			DurationMs: float64(10 * (i + 1)), SampleRate: 1, Source: model.SourceOTLP,
			Attrs: []model.Attr{{Key: "http.status_code", Value: model.Int(200)}}}
		e.TraceID[15], e.SpanID[7] = byte(i+1), byte(i+1)
		evs = append(evs, e)
	}
	if err := srv.store.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	spec := `{"calculations":[{"op":"COUNT"},{"op":"P99","column":"duration_ms"},{"op":"HEATMAP","column":"duration_ms"}],` +
		`"breakdowns":["name"],"orders":[{"op":"COUNT","order":"descending"}],"start_time":1770091200,"end_time":1770091800,"granularity":60}`
	code, _, qbody := do(t, "POST", srv.url+"/1/queries/api", spec)
	if code != 200 {
		t.Fatalf("create query: %d %s", code, qbody)
	}
	var q struct{ ID string }
	_ = json.Unmarshal(qbody, &q)
	code, _, rbody := do(t, "POST", srv.url+"/1/query_results/api", map[string]any{"query_id": q.ID})
	if code != 201 {
		t.Fatalf("create result: %d %s", code, rbody)
	}
	code, _, pbody := do(t, "POST", srv.url+"/1/queries/api", `{"limit":0}`)
	if code != 422 {
		t.Fatalf("bad spec: %d %s", code, pbody)
	}
	// Result ids are random.
	rbody = regexp.MustCompile(`[0-9a-f]{16}`).ReplaceAll(rbody, []byte("RESULT_ID"))
	for name, body := range map[string][]byte{"query.json": qbody, "result.json": rbody, "problem.json": pbody} {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pretty, _ := json.MarshalIndent(v, "", "  ")
		checkGolden(t, name, append(pretty, '\n'))
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}
