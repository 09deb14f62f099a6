package query_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// sloBody is an SLO on the derived column alias at target per million
// over days.
func sloBody(alias string, target, days int) map[string]any {
	return map[string]any{"name": "fast requests", "description": "under 300 ms",
		"sli": map[string]any{"alias": alias}, "target_per_million": target, "time_period_days": days,
		"tags": []any{map[string]any{"key": "team", "value": "backend"}}}
}

// TestSLOs: an SLO counts the events of its dataset by its SLI derived
// column; ?detailed reports compliance, budget and burn rate equal to the
// hand computation from the sent spans; the history report gives the same
// figures for the interval that holds them; every validation rule is a
// 422 naming the field and creates nothing; deleting the SLO deletes its
// burn alerts.
func TestSLOs(t *testing.T) {
	srv := startServer(t)
	now := time.Now().Truncate(time.Second)
	// 200 spans: 190 fast (100 ms), 10 slow (400 ms).
	var spans []spanDef
	for i := range 200 {
		d := 100 * time.Millisecond
		if i%20 == 0 {
			d = 400 * time.Millisecond
		}
		spans = append(spans, spanDef{name: "GET /", dur: d, start: now.Add(-time.Duration(i+2) * time.Second)})
	}
	sendSpans(t, srv.url, "api", spans)
	sendSpans(t, srv.url, "web", spans[:10])
	post := func(path string, body any) (int, map[string]any, string) {
		t.Helper()
		code, _, b := do(t, "POST", srv.url+path, body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return code, m, string(b)
	}
	for _, dc := range []struct{ ds, alias, expr string }{
		{"api", "fast", `LT($duration_ms, 300)`},
		{"api", "tenths", `DIV($duration_ms, 100)`},
		{"api", "ghost", `LT($no_such_column, 300)`},
		{"__all__", "fast_everywhere", `LT($duration_ms, 300)`},
	} {
		if code, _, raw := post("/1/derived_columns/"+dc.ds, map[string]any{"alias": dc.alias, "expression": dc.expr}); code != 201 {
			t.Fatalf("derived column %s: %d %s", dc.alias, code, raw)
		}
	}

	bad := []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"no name", "/1/slos/api", with(sloBody("fast", 995000, 7), "name", nil), "name"},
		{"a long name", "/1/slos/api", with(sloBody("fast", 995000, 7), "name", strings.Repeat("n", 121)), "name"},
		{"no sli", "/1/slos/api", with(sloBody("fast", 995000, 7), "sli", nil), "sli.alias"},
		{"an unknown sli", "/1/slos/api", sloBody("nope", 995000, 7), "sli.alias"},
		{"a sli that is not boolean", "/1/slos/api", sloBody("tenths", 995000, 7), "sli.alias"},
		{"a sli naming a missing column", "/1/slos/api", sloBody("ghost", 995000, 7), "sli.alias"},
		{"a target of a million", "/1/slos/api", sloBody("fast", 1000000, 7), "target_per_million"},
		{"no target", "/1/slos/api", with(sloBody("fast", 995000, 7), "target_per_million", nil), "target_per_million"},
		{"zero days", "/1/slos/api", sloBody("fast", 995000, 0), "time_period_days"},
		{"a bad tag", "/1/slos/api", with(sloBody("fast", 995000, 7), "tags", []any{map[string]any{"key": "Team", "value": "x"}}), "tags[0].key"},
		{"__all__ without datasets", "/1/slos/__all__", sloBody("fast_everywhere", 995000, 7), "dataset_slugs"},
		{"a missing dataset", "/1/slos/__all__", with(sloBody("fast_everywhere", 995000, 7), "dataset_slugs", []string{"api", "nope"}), "dataset_slugs[1]"},
		{"a dataset's derived column for two datasets", "/1/slos/__all__", with(sloBody("fast", 995000, 7), "dataset_slugs", []string{"api", "web"}), "sli.alias"},
	}
	for _, c := range bad {
		code, _, raw := post(c.path, c.body)
		if code != 422 || !strings.Contains(raw, fmt.Sprintf(`"field":%q`, c.field)) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.name, code, raw, c.field)
		}
	}
	if _, _, raw := jsonDo(t, "GET", srv.url+"/1/slos/__all__", nil); strings.TrimSpace(raw) != "[]" {
		t.Fatalf("after the refused SLOs: %s, want none", raw)
	}
	// Triggers too name only columns the dataset has, directly or through
	// a derived column.
	_, email, _ := post("/1/recipients", map[string]any{"type": "email", "details": map[string]any{"email_address": "oncall@example.com"}})
	trig := func(q map[string]any) map[string]any {
		q["time_range"] = 240
		return map[string]any{"name": "t", "query": q, "frequency": 60, "threshold": map[string]any{"op": ">", "value": 1},
			"recipients": []any{map[string]any{"id": email["id"]}}}
	}
	count := []any{map[string]any{"op": "COUNT"}}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"a missing filter column", trig(map[string]any{"calculations": count, "filters": []any{map[string]any{"column": "nope", "op": "exists"}}}), "query.filters[0].column"},
		{"a missing calculation column", trig(map[string]any{"calculations": []any{map[string]any{"op": "P99", "column": "nope"}}}), "query.calculations[0].column"},
		{"a derived column naming a missing column", trig(map[string]any{"calculations": count, "breakdowns": []string{"ghost"}}), "query.breakdowns[0]"},
	} {
		if code, _, raw := post("/1/triggers/api", c.body); code != 422 || !strings.Contains(raw, fmt.Sprintf(`"field":%q`, c.field)) {
			t.Errorf("trigger with %s: %d %s, want 422 naming %s", c.name, code, raw, c.field)
		}
	}
	if code, _, raw := post("/1/triggers/api", trig(map[string]any{"calculations": count, "breakdowns": []string{"fast"}})); code != 201 {
		t.Errorf("a trigger grouping by a derived column: %d %s", code, raw)
	}
	if _, _, b := do(t, "GET", srv.url+"/1/triggers/api", nil); strings.Count(string(b), `"id"`) != 2 { // the trigger and its recipient
		t.Errorf("triggers after the refused ones: %s, want the one created", b)
	}

	code, slo, raw := post("/1/slos/api", sloBody("fast", 995000, 7))
	if code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	id, _ := slo["id"].(string)
	if id == "" || slo["reset_at"] != nil || fmt.Sprint(slo["dataset_slugs"]) != "[api]" || slo["created_at"] == nil {
		t.Errorf("create: %s", raw)
	}
	code, multi, raw := post("/1/slos/__all__", with(sloBody("fast_everywhere", 990000, 30), "dataset_slugs", []string{"api", "web"}))
	if code != 201 {
		t.Fatalf("create a multi-dataset SLO: %d %s", code, raw)
	}

	// Hand computation: 200 qualified, 10 failed; the budget is 0.5% of
	// 200 = 1 event, spent 10 times over.
	_, det, raw := jsonDo(t, "GET", srv.url+"/1/slos/api/"+id+"?detailed", nil)
	want := map[string]float64{"compliance": 95, "budget_remaining": 100 * (1 - 10) / 1.0, "burn_rate": (10.0 / 200) / 0.005}
	for k, v := range want {
		if got, _ := det[k].(float64); math.Abs(got-v) > 1e-9 {
			t.Errorf("detailed %s = %v, want %v (%s)", k, det[k], v, raw)
		}
	}
	if det["status"] != "no_alerts" {
		t.Errorf("detailed status = %v, want no_alerts", det["status"])
	}
	// The multi-dataset SLO: api's 200 and web's 10 (1 slow): 11 of 210
	// failed against a 1% budget of 2.1 events.
	_, det, raw = jsonDo(t, "GET", srv.url+"/1/slos/__all__/"+multi["id"].(string)+"?detailed=true", nil)
	if got := det["compliance"].(float64); math.Abs(got-100*199.0/210) > 1e-9 {
		t.Errorf("multi-dataset compliance = %v, want %v (%s)", got, 100*199.0/210, raw)
	}
	if got := det["budget_remaining"].(float64); math.Abs(got-100*(2.1-11)/2.1) > 1e-9 {
		t.Errorf("multi-dataset budget_remaining = %v, want %v", got, 100*(2.1-11)/2.1)
	}
	// Listed under each of its datasets and __all__; not under others.
	for ds, n := range map[string]int{"api": 2, "web": 1, "__all__": 2} {
		var list []any
		_, _, b := do(t, "GET", srv.url+"/1/slos/"+ds, nil)
		_ = json.Unmarshal(b, &list)
		if len(list) != n {
			t.Errorf("SLOs of %s: %d, want %d (%s)", ds, len(list), n, b)
		}
	}
	if code, _, raw := jsonDo(t, "GET", srv.url+"/1/slos/web/"+id, nil); code != 404 {
		t.Errorf("api's SLO read under web: %d %s, want 404", code, raw)
	}

	// The history of the hour that holds the spans equals the same
	// computation.
	code, _, b := do(t, "POST", srv.url+"/1/reporting/slos/historical", map[string]any{"ids": []string{id}, "start_time": now.Add(-2 * time.Hour).Unix(), "end_time": now.Unix()})
	var hist map[string][]struct {
		Timestamp       int64   `json:"timestamp"`
		Compliance      float64 `json:"compliance"`
		BudgetRemaining float64 `json:"budget_remaining"`
	}
	if err := json.Unmarshal(b, &hist); code != 200 || err != nil {
		t.Fatalf("history: %d %s", code, b)
	}
	points := hist[id]
	if len(points) == 0 || math.Abs(points[len(points)-1].BudgetRemaining+900) > 1e-9 {
		t.Errorf("history: %s, want the last interval's budget -900%%", b)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"ids": []string{}, "start_time": now.Add(-time.Hour).Unix(), "end_time": now.Unix()}, "ids"},
		{map[string]any{"ids": []string{"nope"}, "start_time": now.Add(-time.Hour).Unix(), "end_time": now.Unix()}, "ids[0]"},
		{map[string]any{"ids": []string{id}, "start_time": now.Unix(), "end_time": now.Add(-time.Hour).Unix()}, "end_time"},
		{map[string]any{"ids": []string{id}, "start_time": now.Add(-400 * 24 * time.Hour).Unix(), "end_time": now.Unix()}, "start_time"},
		{map[string]any{"ids": []string{id}, "start_time": now.Unix(), "end_time": now.Add(time.Hour).Unix()}, "end_time"},
	} {
		if code, _, raw := post("/1/reporting/slos/historical", c.body); code != 422 || !strings.Contains(raw, fmt.Sprintf(`"field":%q`, c.field)) {
			t.Errorf("history %v: %d %s, want 422 naming %s", c.body, code, raw, c.field)
		}
	}

	// Burn alerts.
	_, rc, _ := post("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "oncall", "webhook_url": "http://127.0.0.1:9/hook"}})
	rid := rc["id"].(string)
	exhaust := map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 120, "slo": map[string]any{"id": id},
		"description": "runbook", "recipients": []any{map[string]any{"id": rid}}}
	rate := map[string]any{"alert_type": "budget_rate", "budget_rate_window_minutes": 60, "budget_rate_decrease_threshold_per_million": 10000,
		"slo": map[string]any{"id": id}, "recipients": []any{map[string]any{"id": rid, "details": map[string]any{"pagerduty_severity": "warning"}}}}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no slo", with(exhaust, "slo", nil), "slo.id"},
		{"an unknown slo", with(exhaust, "slo", map[string]any{"id": "nope"}), "slo.id"},
		{"no exhaustion_minutes", with(exhaust, "exhaustion_minutes", nil), "exhaustion_minutes"},
		{"a budget_rate field on exhaustion_time", with(exhaust, "budget_rate_window_minutes", 60), "budget_rate_window_minutes"},
		{"a window under an hour", with(rate, "budget_rate_window_minutes", 30), "budget_rate_window_minutes"},
		{"a window past the SLO's period", with(rate, "budget_rate_window_minutes", 8*24*60), "budget_rate_window_minutes"},
		{"a threshold over a million", with(rate, "budget_rate_decrease_threshold_per_million", 1000001), "budget_rate_decrease_threshold_per_million"},
		{"no recipients", with(exhaust, "recipients", []any{}), "recipients"},
		{"an unknown recipient", with(exhaust, "recipients", []any{map[string]any{"id": "nope"}}), "recipients[0].id"},
		{"a bad severity", with(rate, "recipients", []any{map[string]any{"id": rid, "details": map[string]any{"pagerduty_severity": "loud"}}}), "recipients[0].details.pagerduty_severity"},
		{"an unknown type", with(exhaust, "alert_type", "sometimes"), "alert_type"},
	} {
		if code, _, raw := post("/1/burn_alerts/api", c.body); code != 422 || !strings.Contains(raw, fmt.Sprintf(`"field":%q`, c.field)) {
			t.Errorf("burn alert with %s: %d %s, want 422 naming %s", c.name, code, raw, c.field)
		}
	}
	code, ba, raw := post("/1/burn_alerts/api", exhaust)
	if code != 201 || ba["triggered"] != false || ba["exhaustion_minutes"] != 120.0 {
		t.Fatalf("create an exhaustion_time burn alert: %d %s", code, raw)
	}
	if code, _, raw := post("/1/burn_alerts/api", rate); code != 201 || strings.Contains(raw, "exhaustion_minutes") {
		t.Fatalf("create a budget_rate burn alert: %d %s", code, raw)
	}
	var listed []map[string]any
	_, _, b = do(t, "GET", srv.url+"/1/burn_alerts/api?slo_id="+id, nil)
	if err := json.Unmarshal(b, &listed); err != nil || len(listed) != 2 || listed[0]["recipients"] != nil {
		t.Errorf("list: %s, want 2 burn alerts without recipients", b)
	}
	if code, _, raw := jsonDo(t, "GET", srv.url+"/1/burn_alerts/api", nil); code != 422 {
		t.Errorf("list without slo_id: %d %s, want 422", code, raw)
	}
	baID := ba["id"].(string)
	code, upd, raw := jsonDo(t, "PUT", srv.url+"/1/burn_alerts/api/"+baID, with(with(exhaust, "exhaustion_minutes", 240), "slo", nil))
	if code != 200 || upd["exhaustion_minutes"] != 240.0 || upd["created_at"] != ba["created_at"] {
		t.Errorf("update: %d %s", code, raw)
	}
	if _, det, _ := jsonDo(t, "GET", srv.url+"/1/slos/api/"+id+"?detailed", nil); det["status"] != "normal" {
		t.Errorf("status with burn alerts none of which fired: %v, want normal", det["status"])
	}
	// The SLI of an SLO, and a derived column a trigger names, cannot be
	// deleted (409).
	var fastID, everyID string
	for ds, alias := range map[string]string{"api": "fast", "__all__": "fast_everywhere"} {
		_, dc, _ := jsonDo(t, "GET", srv.url+"/1/derived_columns/"+ds+"?alias="+alias, nil)
		if ds == "api" {
			fastID, _ = dc["id"].(string)
		} else {
			everyID, _ = dc["id"].(string)
		}
	}
	if code, _, raw := jsonDo(t, "DELETE", srv.url+"/1/derived_columns/api/"+fastID, nil); code != 409 || !strings.Contains(raw, "is used by") {
		t.Errorf("delete the SLI of an SLO: %d %s, want 409", code, raw)
	}
	if code, _, raw := jsonDo(t, "DELETE", srv.url+"/1/derived_columns/__all__/"+everyID, nil); code != 409 {
		t.Errorf("delete the SLI of a multi-dataset SLO: %d %s, want 409", code, raw)
	}
	if code, _, raw := jsonDo(t, "DELETE", srv.url+"/1/slos/api/"+id, nil); code != 204 {
		t.Fatalf("delete the SLO: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "GET", srv.url+"/1/burn_alerts/api/"+baID, nil); code != 404 {
		t.Errorf("a burn alert of the deleted SLO: %d %s, want 404", code, raw)
	}
	// fast is still grouped by a trigger.
	if code, _, raw := jsonDo(t, "DELETE", srv.url+"/1/derived_columns/api/"+fastID, nil); code != 409 || !strings.Contains(raw, "trigger") {
		t.Errorf("delete a derived column a trigger names: %d %s, want 409 naming the trigger", code, raw)
	}
	_, dc, _ := jsonDo(t, "GET", srv.url+"/1/derived_columns/api?alias=tenths", nil)
	if code, _, raw := jsonDo(t, "DELETE", srv.url+"/1/derived_columns/api/"+dc["id"].(string), nil); code != 204 {
		t.Errorf("delete an unused derived column: %d %s", code, raw)
	}
}
