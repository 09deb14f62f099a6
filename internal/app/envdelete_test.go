package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// TestDeleteEnvironmentOverHTTP: through the running server, an
// environment made over /2 gets, over /1, a dataset with events, a
// recipient, a trigger that the evaluator fires to its webhook, a derived
// column, an SLO with a burn alert, a marker and a board. Deleting the
// environment over /2 deletes them all: the environment made again with
// the same name (and a dataset of the same name in it) starts with none,
// and the bootstrap environment keeps its own.
func TestDeleteEnvironmentOverHTTP(t *testing.T) {
	fired := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		if json.NewDecoder(r.Body).Decode(&p) == nil {
			fired <- p
		}
	}))
	defer hook.Close()
	a, testKey := testAppWith(t, t.TempDir(), func(c *Config) { c.TriggerTick = 50 * time.Millisecond })
	base := "http://" + a.Addrs().HTTP
	_, mgmt, err := a.Registry().CreateKey(auth.KeySpec{Kind: auth.KindManagement})
	if err != nil {
		t.Fatal(err)
	}
	v2 := func(method, path, body string, want int) map[string]any {
		t.Helper()
		code, raw, m := call(t, method, base+"/2/teams/tracecomb"+path, mgmt, body, true)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, raw, want)
		}
		return m
	}
	// newKey makes a key of the staging environment and returns it whole.
	newKey := func(kind string) string {
		t.Helper()
		doc := v2("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"key_type":"`+kind+`"},
			"relationships":{"environment":{"data":{"id":"staging","type":"environments"}}}}}`, http.StatusCreated)
		d := doc["data"].(map[string]any)
		secret := d["attributes"].(map[string]any)["secret"].(string)
		if kind == "ingest" {
			return d["id"].(string) + secret
		}
		return secret
	}
	v1 := func(key, method, path string, body any, want int) (map[string]any, string) {
		t.Helper()
		b := ""
		if body != nil {
			b = mustJSON(t, body)
		}
		code, raw, m := call(t, method, base+path, key, b, false)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, raw, want)
		}
		return m, raw
	}
	id := func(m map[string]any) string { s, _ := m["id"].(string); return s }

	v2("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"Staging"}}}`, http.StatusCreated)
	ingest, cfg := newKey("ingest"), newKey("configuration")
	events := make([]map[string]any, 15)
	for i := range events {
		events[i] = map[string]any{"data": map[string]any{"name": "GET /", "error": true, "duration_ms": 120.5}}
	}
	v1(ingest, "POST", "/1/batch/api", events, http.StatusOK)
	rc, _ := v1(cfg, "POST", "/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "oncall", "webhook_url": hook.URL}}, http.StatusCreated)
	to := []any{map[string]any{"id": id(rc)}}
	trigger := map[string]any{"name": "errors",
		"query":     map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}, "time_range": 240},
		"threshold": map[string]any{"op": ">", "value": 10}, "frequency": 60, "recipients": to}
	var tr map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The dataset and its columns exist once the batch is committed.
		code, raw, m := call(t, "POST", base+"/1/triggers/api", cfg, mustJSON(t, trigger), false)
		if code == http.StatusCreated {
			tr = m
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trigger: %d %s", code, raw)
		}
	}
	select {
	case p := <-fired:
		if p["status"] != "TRIGGERED" || p["id"] != tr["id"] {
			t.Fatalf("payload %v: want TRIGGERED of the trigger", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the evaluator did not fire the trigger")
	}
	v1(cfg, "POST", "/1/derived_columns/api", map[string]any{"alias": "fast", "expression": `LT($duration_ms, 300)`}, http.StatusCreated)
	slo, _ := v1(cfg, "POST", "/1/slos/api", map[string]any{"name": "fast", "sli": map[string]any{"alias": "fast"}, "target_per_million": 995000, "time_period_days": 7}, http.StatusCreated)
	v1(cfg, "POST", "/1/burn_alerts/api", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 120, "slo": map[string]any{"id": id(slo)}, "recipients": to}, http.StatusCreated)
	v1(cfg, "POST", "/1/derived_columns/__all__", map[string]any{"alias": "slow", "expression": `GTE($duration_ms, 300)`}, http.StatusCreated)
	v1(cfg, "POST", "/1/markers/__all__", map[string]any{"message": "v1", "type": "deploy"}, http.StatusCreated)
	v1(cfg, "POST", "/1/boards", map[string]any{"name": "notes", "type": "flexible",
		"panels": []any{map[string]any{"type": "text", "text_panel": map[string]any{"content": "deploys on Tuesdays"}}}}, http.StatusCreated)
	v1(testKey, "POST", "/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "test", "webhook_url": hook.URL}}, http.StatusCreated)

	v2("PATCH", "/environments/staging", `{"data":{"id":"staging","type":"environments","attributes":{"settings":{"delete_protected":false}}}}`, http.StatusOK)
	v2("DELETE", "/environments/staging", "", http.StatusNoContent)
	if code, raw, _ := call(t, "GET", base+"/1/auth", cfg, "", false); code != http.StatusUnauthorized {
		t.Fatalf("a key of the deleted environment: %d %s", code, raw)
	}

	v2("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"Staging"}}}`, http.StatusCreated)
	cfg = newKey("configuration")
	v1(cfg, "POST", "/1/datasets", map[string]any{"name": "api"}, http.StatusCreated)
	for _, tc := range []struct {
		key, path string
		want      int // objects listed
	}{
		{cfg, "/1/triggers/api", 0},
		{cfg, "/1/slos/api", 0},
		{cfg, "/1/recipients", 0},
		{cfg, "/1/boards", 0},
		{cfg, "/1/slos/__all__", 0},
		{cfg, "/1/derived_columns/__all__", 0},
		{cfg, "/1/markers/__all__", 0},
		{testKey, "/1/recipients", 1},
	} {
		name := strings.TrimPrefix(tc.path, "/1/")
		if tc.key == testKey {
			name = "bootstrap " + name
		}
		t.Run(name, func(t *testing.T) {
			_, raw := v1(tc.key, "GET", tc.path, nil, http.StatusOK)
			var list []any
			if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list) != tc.want {
				t.Errorf("GET %s: %s, want %d objects", tc.path, raw, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
