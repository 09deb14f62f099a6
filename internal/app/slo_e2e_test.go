package app

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// e2eSpan is a span sent by the OTel SDK: its start, duration and error.
type e2eSpan struct {
	at  time.Time
	dur time.Duration
	err bool
}

// sendSpansAt sends spans of service through the OTel SDK's OTLP/HTTP
// exporter with the Honeycomb key header.
func sendSpansAt(t *testing.T, endpoint, key, service string, spans []e2eSpan) {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint+"/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"x-honeycomb-team": key}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	tr := tp.Tracer("tracecomb/alerting-e2e")
	for _, s := range spans {
		_, sp := tr.Start(ctx, "GET /api/activities/home", trace.WithTimestamp(s.at), trace.WithSpanKind(trace.SpanKindServer))
		if s.err {
			sp.SetStatus(codes.Error, "boom")
		}
		sp.End(trace.WithTimestamp(s.at.Add(s.dur)))
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
}

// TestAlertingEndToEnd is the configuration and alerting path of a team,
// through the running server with the scheduler on a fake clock: a
// dataset, its columns and two derived columns, a webhook recipient
// (a local server checking the token), the trigger COUNT > 10 WHERE
// error = true every 60 s, an SLO of duration_ms < 300 at 99.5% over 7
// days with an exhaustion-time burn alert. Spans that breach both make
// the webhook receive the trigger's and the burn alert's TRIGGERED
// payloads; the SLO's budget equals the hand computation from the sent
// spans; healthy spans resolve the trigger (its OK payload arrives).
func TestAlertingEndToEnd(t *testing.T) {
	got := make(chan map[string]any, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		if r.Header.Get("X-Honeycomb-Webhook-Token") != "s3cret" || json.NewDecoder(r.Body).Decode(&p) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got <- p
	}))
	defer hook.Close()
	clk := &fakeClock{now: time.Now().UTC()}
	a, key := testAppWith(t, t.TempDir(), func(c *Config) {
		c.TriggerTick = 20 * time.Millisecond
		c.Clock = clk.Now
	})
	base := "http://" + a.Addrs().HTTP
	call := apiCaller(t, base, key)
	mustCreate := func(path string, body any) map[string]any {
		t.Helper()
		code, m, raw := call("POST", path, body)
		if code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, code, raw)
		}
		return m
	}
	mustCreate("/1/datasets", map[string]any{"name": "cruddur", "description": "the Cruddur backend"})
	mustCreate("/1/columns/cruddur", map[string]any{"key_name": "duration_ms", "type": "float"})
	mustCreate("/1/columns/cruddur", map[string]any{"key_name": "error", "type": "boolean"})
	mustCreate("/1/derived_columns/cruddur", map[string]any{"alias": "fast", "expression": `LT($duration_ms, 300)`})
	mustCreate("/1/derived_columns/cruddur", map[string]any{"alias": "failed_slow", "expression": `AND($error, GTE($duration_ms, 300))`})
	rc := mustCreate("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{
		"webhook_name": "oncall", "webhook_url": hook.URL, "webhook_secret": "s3cret"}})
	recipients := []any{map[string]any{"id": rc["id"]}}
	trigger := mustCreate("/1/triggers/cruddur", map[string]any{"name": "errors", "description": "more than 10 failed requests",
		"query": map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}},
			"filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}, "time_range": 120},
		"threshold": map[string]any{"op": ">", "value": 10}, "frequency": 60, "recipients": recipients})
	slo := mustCreate("/1/slos/cruddur", map[string]any{"name": "home timeline", "sli": map[string]any{"alias": "fast"},
		"target_per_million": 995000, "time_period_days": 7})
	alert := mustCreate("/1/burn_alerts/cruddur", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 120,
		"slo": map[string]any{"id": slo["id"]}, "recipients": recipients})

	// Nothing breaches yet: the first evaluations (made at once) stay OK.
	time.Sleep(200 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("notifications before any span: %v", <-got)
	}
	// 100 spans: 20 failed at 450 ms, 80 healthy at 100 ms.
	now := clk.Now()
	var spans []e2eSpan
	for i := range 100 {
		s := e2eSpan{at: now.Add(-time.Duration(i+1) * 200 * time.Millisecond), dur: 100 * time.Millisecond}
		if i%5 == 0 {
			s.dur, s.err = 450*time.Millisecond, true
		}
		spans = append(spans, s)
	}
	sendSpansAt(t, base, key, "cruddur", spans)
	clk.Add(time.Minute) // the trigger and the SLO are due again

	wait := func(what string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case p := <-got:
				if match(p) {
					return p
				}
				t.Errorf("unexpected notification while waiting for %s: %v", what, p)
			case <-deadline:
				t.Fatalf("no %s notification", what)
			}
		}
	}
	var tp, bp map[string]any
	for tp == nil || bp == nil {
		p := wait("the trigger's and the burn alert's", func(p map[string]any) bool { return p["status"] == "TRIGGERED" })
		switch p["id"] {
		case trigger["id"]:
			tp = p
		case alert["id"]:
			bp = p
		default:
			t.Fatalf("TRIGGERED of neither: %v", p)
		}
	}
	if tp["name"] != "errors" || tp["trigger_description"] != "more than 10 failed requests" || tp["shared_secret"] != "s3cret" ||
		tp["threshold"] != 10.0 || tp["operator"] != "greater than" || tp["result_url"] == "" {
		t.Errorf("trigger payload: %v", tp)
	}
	if u, _ := tp["trigger_url"].(string); !strings.HasSuffix(u, "/triggers?dataset=cruddur") {
		t.Errorf("trigger_url %q: want the UI's triggers of cruddur", u)
	}
	if u, _ := bp["slo_url"].(string); !strings.HasSuffix(u, "/slos?dataset=cruddur&slo="+slo["id"].(string)) {
		t.Errorf("slo_url %q: want the UI's page of the SLO", u)
	}
	if groups, _ := tp["result_groups_triggered"].([]any); len(groups) != 1 || groups[0].(map[string]any)["Result"] != 20.0 {
		t.Errorf("trigger payload groups: %v, want one of 20", tp["result_groups_triggered"])
	}
	// Hand computation: 100 qualified, 20 failed (450 ms ≥ 300); 0.5% of
	// 100 is a budget of 0.5 events, overspent 40 times.
	wantBudget := 100 * (0.5 - 20) / 0.5
	if bp["name"] != "home timeline" || bp["slo_id"] != slo["id"] || bp["type"] != "exhaustion_time" || bp["minutes_to_exhaustion"] != 0.0 ||
		math.Abs(bp["budget_remaining"].(float64)-wantBudget) > 1e-9 || bp["compliance"] != 80.0 {
		t.Errorf("burn alert payload: %v, want budget %v, compliance 80, exhausted", bp, wantBudget)
	}
	_, det, raw := call("GET", "/1/slos/cruddur/"+slo["id"].(string)+"?detailed", nil)
	if math.Abs(det["budget_remaining"].(float64)-wantBudget) > 1e-9 || det["compliance"] != 80.0 || det["status"] != "triggered" {
		t.Errorf("detailed SLO: %s, want budget_remaining %v, compliance 80, status triggered", raw, wantBudget)
	}
	if _, m, raw := call("GET", "/1/triggers/cruddur/"+trigger["id"].(string), nil); m["triggered"] != true {
		t.Errorf("trigger: %s, want triggered", raw)
	}

	// Healthy spans two minutes on: the failures have left the trigger's
	// two-minute range; the trigger resolves.
	clk.Add(2 * time.Minute)
	now = clk.Now()
	sendSpansAt(t, base, key, "cruddur", []e2eSpan{{at: now.Add(-time.Second), dur: 50 * time.Millisecond}, {at: now.Add(-2 * time.Second), dur: 60 * time.Millisecond}})
	ok := wait("the trigger's OK", func(p map[string]any) bool { return p["id"] == trigger["id"] })
	if ok["status"] != "OK" || ok["summary"] != "Resolved: errors" {
		t.Errorf("resolved payload: %v", ok)
	}
	if _, m, raw := call("GET", "/1/triggers/cruddur/"+trigger["id"].(string), nil); m["triggered"] != false {
		t.Errorf("trigger after healthy data: %s, want triggered false", raw)
	}
}
