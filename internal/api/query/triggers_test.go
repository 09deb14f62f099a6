package query_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
)

// validTrigger is a trigger body that passes every check; recipient is
// the id of a recipient.
func validTrigger(recipient string) map[string]any {
	return map[string]any{
		"name":        "slow requests",
		"description": "p99 over a second",
		"query": map[string]any{
			"calculations": []any{map[string]any{"op": "P99", "column": "duration_ms"}},
			"filters":      []any{map[string]any{"column": "name", "op": "=", "value": "GET /"}},
			"breakdowns":   []string{"service.name"},
			"time_range":   1800,
		},
		"threshold":  map[string]any{"op": ">", "value": 1000},
		"frequency":  600,
		"recipients": []any{map[string]any{"id": recipient}},
	}
}

// with returns a copy of body with path (dot-separated) set to v, or
// removed when v is nil.
func with(body map[string]any, path string, v any) map[string]any {
	b, _ := json.Marshal(body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	m := out
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return out
}

// TestTriggers: create, list, get, update and delete triggers, by inline
// query and by query_id; every validation rule answers 422 naming its
// field and writes nothing; a recipient a trigger uses cannot be deleted.
func TestTriggers(t *testing.T) {
	url := apiServer(t, openState(t, t.TempDir()), apiquery.Deps{})
	_, rc, raw := jsonDo(t, "POST", url+"/1/recipients", map[string]any{"type": "email", "details": map[string]any{"email_address": "oncall@example.com"}})
	rid, _ := rc["id"].(string)
	if rid == "" {
		t.Fatalf("create a recipient: %s", raw)
	}
	base := url + "/1/triggers/__all__"

	code, tr, raw := jsonDo(t, "POST", base, validTrigger(rid))
	if code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	id, _ := tr["id"].(string)
	th, _ := tr["threshold"].(map[string]any)
	recips, _ := tr["recipients"].([]any)
	switch {
	case id == "" || tr["triggered"] != false || tr["created_at"] == nil || tr["updated_at"] == nil:
		t.Errorf("create: %s, want id, triggered false, created_at, updated_at", raw)
	case tr["alert_type"] != "on_change" || tr["evaluation_schedule_type"] != "frequency" || th["exceeded_limit"] != 1.0:
		t.Errorf("create: %s, want the defaults on_change, frequency, exceeded_limit 1", raw)
	case tr["query_id"] == "" || tr["query"] == nil || tr["dataset_slug"] != "__all__":
		t.Errorf("create: %s, want the query and its id", raw)
	case len(recips) != 1 || recips[0].(map[string]any)["type"] != "email" || recips[0].(map[string]any)["target"] != "oncall@example.com":
		t.Errorf("create: %s, want the recipient with its type and target", raw)
	}
	// The inline query was saved: its id reads back.
	if code, _, raw := jsonDo(t, "GET", url+"/1/queries/__all__/"+tr["query_id"].(string), nil); code != 200 {
		t.Errorf("the trigger's query: %d %s", code, raw)
	}

	// By query_id, with a window schedule, on_true and baseline details.
	_, q, raw := jsonDo(t, "POST", url+"/1/queries/__all__", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "time_range": 3600})
	qid, _ := q["id"].(string)
	if qid == "" {
		t.Fatalf("create a query: %s", raw)
	}
	byID := with(with(validTrigger(rid), "query", nil), "query_id", qid)
	byID = with(byID, "frequency", 900) // 3600 s ≤ 4 × 900
	byID = with(byID, "alert_type", "on_true")
	byID = with(byID, "threshold.exceeded_limit", 3)
	byID = with(byID, "evaluation_schedule_type", "window")
	byID = with(byID, "evaluation_schedule", map[string]any{"window": map[string]any{"days_of_week": []string{"monday", "friday"}, "start_time": "09:00", "end_time": "17:30"}})
	byID = with(byID, "baseline_details", map[string]any{"offset_minutes": 1440, "type": "percentage"})
	code, tr2, raw := jsonDo(t, "POST", base, byID)
	if code != 201 || tr2["query_id"] != qid || tr2["alert_type"] != "on_true" || !strings.Contains(raw, `"offset_minutes":1440`) || !strings.Contains(raw, `"start_time":"09:00"`) {
		t.Fatalf("create by query_id: %d %s", code, raw)
	}
	id2 := tr2["id"].(string)

	code, _, b := do(t, "GET", base, nil)
	var list []map[string]any
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list) != 2 || list[0]["id"] != id {
		t.Fatalf("list: %d %s", code, b)
	}
	if code, m, raw := jsonDo(t, "GET", base+"/"+id, nil); code != 200 || m["name"] != "slow requests" {
		t.Errorf("get: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "GET", url+"/1/triggers/nosuchdataset", nil); code != 404 {
		t.Errorf("list of a dataset that does not exist: %d %s", code, raw)
	}

	// Validation: each rule has a failing input, answered 422 naming the
	// field, and nothing is written.
	v := validTrigger(rid)
	bad := []struct {
		body  map[string]any
		field string
	}{
		{with(v, "name", nil), "name"},
		{with(v, "name", strings.Repeat("n", 121)), "name"},
		{with(v, "description", strings.Repeat("d", 1024)), "description"},
		{with(v, "threshold", nil), "threshold"},
		{with(v, "threshold.op", "=="), "threshold.op"},
		{with(v, "threshold.value", nil), "threshold.value"},
		{with(v, "threshold.exceeded_limit", 0), "threshold.exceeded_limit"},
		{with(v, "threshold.exceeded_limit", 6), "threshold.exceeded_limit"},
		{with(v, "frequency", 30), "frequency"},
		{with(v, "frequency", 90), "frequency"},
		{with(v, "frequency", 86460), "frequency"},
		{with(v, "alert_type", "always"), "alert_type"},
		{with(v, "evaluation_schedule_type", "cron"), "evaluation_schedule_type"},
		{with(v, "evaluation_schedule_type", "window"), "evaluation_schedule"},
		{with(with(v, "evaluation_schedule_type", "window"), "evaluation_schedule", map[string]any{"window": map[string]any{"days_of_week": []string{"caturday"}, "start_time": "09:00", "end_time": "10:00"}}), "evaluation_schedule.window.days_of_week[0]"},
		{with(with(v, "evaluation_schedule_type", "window"), "evaluation_schedule", map[string]any{"window": map[string]any{"days_of_week": []string{}, "start_time": "09:00", "end_time": "10:00"}}), "evaluation_schedule.window.days_of_week"},
		{with(with(v, "evaluation_schedule_type", "window"), "evaluation_schedule", map[string]any{"window": map[string]any{"days_of_week": []string{"monday"}, "start_time": "9am", "end_time": "10:00"}}), "evaluation_schedule.window.start_time"},
		{with(with(v, "evaluation_schedule_type", "window"), "evaluation_schedule", map[string]any{"window": map[string]any{"days_of_week": []string{"monday"}, "start_time": "09:00"}}), "evaluation_schedule.window.end_time"},
		{with(v, "recipients", []any{map[string]any{"type": "email", "target": "x@example.com"}}), "recipients[0].id"},
		{with(v, "recipients", []any{map[string]any{"id": rid}, map[string]any{"id": "nosuchrecipient"}}), "recipients[1].id"},
		{with(v, "query", nil), "query"},
		{with(v, "query_id", qid), "query_id"},
		{with(with(v, "query", nil), "query_id", "nosuchquery"), "query_id"},
		{with(with(with(v, "query", nil), "query_id", qid), "frequency", 600), "query_id"}, // 3600 s > 4 × 600
		{with(v, "query.calculations", []any{}), "query.calculations"},
		{with(v, "query.calculations", []any{map[string]any{"op": "COUNT"}, map[string]any{"op": "MAX", "column": "duration_ms"}}), "query.calculations"},
		{with(v, "query.calculations", []any{map[string]any{"op": "HEATMAP", "column": "duration_ms"}}), "query.calculations[0].op"},
		{with(v, "query.calculations", []any{map[string]any{"op": "CONCURRENCY"}}), "query.calculations[0].op"},
		{with(v, "query.calculations", []any{map[string]any{"op": "NOPE"}}), "query.calculations[0].op"},
		{with(v, "query.time_range", 2401), "query.time_range"}, // > 4 × 600
		{with(v, "query.time_range", nil), "query.time_range"},  // the default 7200 > 4 × 600
		{with(v, "query.start_time", 1700000000), "query.start_time"},
		{with(v, "query.havings", []any{map[string]any{"calculate_op": "P99", "column": "duration_ms", "op": ">", "value": 1}, map[string]any{"calculate_op": "P99", "column": "duration_ms", "op": "<", "value": 9}}), "query.havings"},
		{with(v, "frequency", "often"), "frequency"},
		{with(v, "query.time_range", 300), "query.time_range"}, // < the frequency, 600
		{with(v, "query.orders", []any{map[string]any{"op": "P99", "column": "duration_ms", "order": "descending"}}), "query.orders"},
		{with(v, "query.limit", 10), "query.limit"},
		{with(v, "query.granularity", 60), "query.granularity"},
		{with(v, "baseline_details", map[string]any{"offset_minutes": 30, "type": "value"}), "baseline_details.offset_minutes"},
		{with(v, "baseline_details", map[string]any{"offset_minutes": 60, "type": "ratio"}), "baseline_details.type"},
	}
	for i, c := range bad {
		code, _, raw := jsonDo(t, "POST", base, c.body)
		if code != 422 || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("case %d: %d %s, want 422 naming %s", i, code, raw, c.field)
		}
	}
	code, _, b = do(t, "GET", base, nil)
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list) != 2 {
		t.Errorf("after the refused creates: %d %s, want the 2 triggers only", code, b)
	}

	// Update replaces the trigger, keeping id and created_at.
	upd := with(with(validTrigger(rid), "name", "renamed"), "disabled", true)
	code, m, raw := jsonDo(t, "PUT", base+"/"+id, upd)
	if code != 200 || m["name"] != "renamed" || m["disabled"] != true || m["id"] != id || m["created_at"] != tr["created_at"] {
		t.Errorf("update: %d %s", code, raw)
	}
	// A baseline threshold is kept; an empty object clears it.
	if code, m, raw := jsonDo(t, "PUT", base+"/"+id, with(upd, "baseline_details", map[string]any{"offset_minutes": 1440, "type": "percentage"})); code != 200 || fmt.Sprint(m["baseline_details"]) != "map[offset_minutes:1440 type:percentage]" {
		t.Errorf("a baseline: %d %s", code, raw)
	}
	if code, m, raw := jsonDo(t, "PUT", base+"/"+id, with(upd, "baseline_details", map[string]any{})); code != 200 || m["baseline_details"] != nil {
		t.Errorf("an empty baseline clears it: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "PUT", base+"/"+id, with(upd, "frequency", 45)); code != 422 || !strings.Contains(raw, `"field":"frequency"`) {
		t.Errorf("an invalid update: %d %s", code, raw)
	}
	if code, m, _ := jsonDo(t, "GET", base+"/"+id, nil); code != 200 || m["name"] != "renamed" {
		t.Errorf("after the invalid update: %d %v, want it unchanged", code, m["name"])
	}
	if code, _, raw := jsonDo(t, "PUT", base+"/nosuchtrigger", upd); code != 404 {
		t.Errorf("update a missing trigger: %d %s", code, raw)
	}

	// A recipient a trigger uses cannot be deleted.
	if code, _, b := do(t, "DELETE", url+"/1/recipients/"+rid, nil); code != 409 || !strings.Contains(string(b), "trigger") {
		t.Errorf("delete a recipient triggers use: %d %s, want 409", code, b)
	}
	for _, tid := range []string{id, id2} {
		if code, _, b := do(t, "DELETE", base+"/"+tid, nil); code != 204 {
			t.Errorf("delete trigger %s: %d %s", tid, code, b)
		}
	}
	if code, _, b := do(t, "GET", base+"/"+id, nil); code != 404 {
		t.Errorf("the deleted trigger: %d %s", code, b)
	}
	if code, _, b := do(t, "DELETE", url+"/1/recipients/"+rid, nil); code != 204 {
		t.Errorf("delete the recipient no trigger uses: %d %s", code, b)
	}
}
