package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTriggersNotifyWebhooks: the running server evaluates triggers every
// --trigger-tick: 15 failed events sent to /1/batch pass a trigger's
// COUNT > 10 WHERE failed = true, its webhook recipient receives the
// TRIGGERED payload with the recipient's token, the Triggers API reports
// triggered, and /metrics counts the notification.
func TestTriggersNotifyWebhooks(t *testing.T) {
	got := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		if r.Header.Get("X-Honeycomb-Webhook-Token") == "s3cret" && json.NewDecoder(r.Body).Decode(&p) == nil {
			got <- p
		}
	}))
	defer hook.Close()
	a, key := testAppWith(t, t.TempDir(), func(c *Config) { c.TriggerTick = 50 * time.Millisecond })
	base := "http://" + a.Addrs().HTTP
	call := apiCaller(t, base, key)
	events := make([]map[string]any, 15)
	for i := range events {
		events[i] = map[string]any{"data": map[string]any{"name": "GET /", "failed": true}}
	}
	if code, _, raw := call("POST", "/1/batch/api", events); code != http.StatusOK {
		t.Fatalf("batch: %d %s", code, raw)
	}
	code, rc, raw := call("POST", "/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{
		"webhook_name": "oncall", "webhook_url": hook.URL, "webhook_secret": "s3cret"}})
	if code != http.StatusCreated {
		t.Fatalf("recipient: %d %s", code, raw)
	}
	trigger := map[string]any{
		"name": "failures",
		"query": map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}},
			"filters":      []any{map[string]any{"column": "failed", "op": "=", "value": true}},
			"time_range":   240,
		},
		"threshold":  map[string]any{"op": ">", "value": 10},
		"frequency":  60,
		"recipients": []any{map[string]any{"id": rc["id"]}},
	}
	var tr map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The dataset exists once the batch is committed.
		code, tr, raw = call("POST", "/1/triggers/api", trigger)
		if code != http.StatusNotFound || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusCreated {
		t.Fatalf("trigger: %d %s", code, raw)
	}
	select {
	case p := <-got:
		if p["status"] != "TRIGGERED" || p["id"] != tr["id"] || p["name"] != "failures" || p["is_test"] != false {
			t.Errorf("payload %v: want TRIGGERED of the trigger", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivery")
	}
	if _, m, raw := call("GET", "/1/triggers/api/"+tr["id"].(string), nil); m["triggered"] != true {
		t.Errorf("trigger after the breach: %s, want triggered true", raw)
	}
	// The delivery is counted once the webhook has answered.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, raw := call("GET", "/metrics", nil)
		if strings.Contains(raw, `tracecomb_notifications_total{kind="trigger",outcome="sent",type="webhook"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/metrics lacks the sent webhook notification")
		}
	}
}
