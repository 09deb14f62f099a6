package query_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestObjectGoldens pins the JSON of each configuration object as the API
// answers its creation (and an SLO's detailed read and history): a
// recipient, a derived column, a marker setting, a query annotation, a
// trigger, an SLO and both kinds of burn alert. Ids and times are
// replaced by placeholders.
func TestObjectGoldens(t *testing.T) {
	srv := startServer(t)
	now := time.Now().Truncate(time.Second)
	var spans []spanDef
	for i := range 20 {
		d := 100 * time.Millisecond
		if i == 0 {
			d = 500 * time.Millisecond
		}
		spans = append(spans, spanDef{name: "GET /", dur: d, err: i == 1, start: now.Add(-time.Duration(i+2) * time.Second)})
	}
	sendSpans(t, srv.url, "api", spans)
	post := func(path string, body any) map[string]any {
		t.Helper()
		code, _, b := do(t, "POST", srv.url+path, body)
		if code != 201 && code != 200 {
			t.Fatalf("POST %s: %d %s", path, code, b)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	objects := map[string]any{}
	rc := post("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "oncall", "webhook_url": "https://example.com/hook", "webhook_secret": "s3cret"}})
	objects["recipient"] = rc
	objects["derived-column"] = post("/1/derived_columns/api", map[string]any{"alias": "fast", "expression": `LT($duration_ms, 300)`, "description": "under 300 ms"})
	objects["marker-setting"] = post("/1/marker_settings/api", map[string]any{"type": "deploy", "color": "#F96E11"})
	q := post("/1/queries/api", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "time_range": 240})
	objects["query-annotation"] = post("/1/query_annotations/api", map[string]any{"name": "errors", "description": "failed requests", "query_id": q["id"]})
	objects["trigger"] = post("/1/triggers/api", map[string]any{"name": "errors", "description": "more than 10 failed requests",
		"query":     map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}, "time_range": 240},
		"threshold": map[string]any{"op": ">", "value": 10}, "frequency": 60, "recipients": []any{map[string]any{"id": rc["id"]}}})
	slo := post("/1/slos/api", map[string]any{"name": "fast requests", "description": "under 300 ms", "sli": map[string]any{"alias": "fast"},
		"target_per_million": 995000, "time_period_days": 7, "tags": []any{map[string]any{"key": "team", "value": "backend"}}})
	objects["slo"] = slo
	objects["burn-alert-exhaustion-time"] = post("/1/burn_alerts/api", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 120,
		"description": "runbook: https://example.com/runbook", "slo": map[string]any{"id": slo["id"]}, "recipients": []any{map[string]any{"id": rc["id"]}}})
	objects["burn-alert-budget-rate"] = post("/1/burn_alerts/api", map[string]any{"alert_type": "budget_rate", "budget_rate_window_minutes": 60,
		"budget_rate_decrease_threshold_per_million": 10000, "slo": map[string]any{"id": slo["id"]},
		"recipients": []any{map[string]any{"id": rc["id"], "details": map[string]any{"pagerduty_severity": "warning"}}}})
	_, det, _ := jsonDo(t, "GET", srv.url+"/1/slos/api/"+slo["id"].(string)+"?detailed", nil)
	objects["slo-detailed"] = det

	ids := regexp.MustCompile(`"(id|query_id|slo_id|created_at|updated_at)": "[^"]+"`)
	idRef := regexp.MustCompile(`"` + strings.Join([]string{slo["id"].(string), rc["id"].(string), q["id"].(string)}, `"|"`) + `"`)
	for name, v := range objects {
		pretty, _ := json.MarshalIndent(v, "", "  ")
		pretty = ids.ReplaceAll(pretty, []byte(`"$1": "…"`))
		pretty = idRef.ReplaceAll(pretty, []byte(`"…"`))
		checkGolden(t, "objects/"+name+".json", append(pretty, '\n'))
	}
}
