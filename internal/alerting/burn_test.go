package alerting_test

import (
	"math"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/alerting"
)

// slo creates "duration_ms < 300" (derived column fast) at target per
// million over days on dataset api.
func (f *fixture) slo(target, days int) string {
	f.t.Helper()
	f.create("/1/derived_columns/api", map[string]any{"alias": "fast", "expression": `LT($duration_ms, 300)`})
	return f.create("/1/slos/api", map[string]any{"name": "fast requests", "description": "under 300 ms",
		"sli": map[string]any{"alias": "fast"}, "target_per_million": target, "time_period_days": days})["id"].(string)
}

// TestExhaustionBurnAlert: an exhaustion_time burn alert fires when the
// budget left, spent at the rate of the last quarter of its exhaustion
// time, runs out within it, notifying its webhook with the SLO's figures;
// it is evaluated once a minute; it resolves (OK) when the projection
// lasts longer again; ?detailed reports the SLO triggered meanwhile.
func TestExhaustionBurnAlert(t *testing.T) {
	f := newFixture(t, 0)
	// The seed span of the fixture (a day old, 5 ms) is one good event.
	f.writeAt(f.clock.Now().Add(-2*time.Hour), 9999, false, 50) // 10,000 good
	sloID := f.slo(990000, 7)                                   // budget: 1% of the qualified events
	alert := f.create("/1/burn_alerts/api", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 240,
		"slo": map[string]any{"id": sloID}, "recipients": []any{map[string]any{"id": f.rcpt}}})
	alertID := alert["id"].(string)
	e := f.evaluator("node-a", nil)

	tick(e)
	f.expectNone("a budget not being spent")
	// 60 failures in the last hour (the lookback of a 240-minute alert):
	// the budget of 10,060 events is 100.6, 40.6 left, spent at 1 a
	// minute: 40.6 minutes to exhaustion, within 240.
	f.clock.Add(time.Minute)
	f.writeAt(f.clock.Now().Add(-30*time.Minute), 60, false, 900)
	tick(e)
	got := f.hook.take()
	if len(got) != 1 {
		t.Fatalf("deliveries: %v, want one TRIGGERED", got)
	}
	p := got[0].payload
	left := 100.6 - 60
	switch {
	case p["status"] != "TRIGGERED" || p["id"] != alertID || p["slo_id"] != sloID || p["type"] != "exhaustion_time" || p["name"] != "fast requests":
		t.Errorf("payload %v: want TRIGGERED for the alert and SLO", p)
	case p["shared_secret"] != "s3cret" || got[0].token != "s3cret":
		t.Errorf("payload %v, token %q: want the recipient's secret", p, got[0].token)
	case math.Abs(p["minutes_to_exhaustion"].(float64)-math.Round(left*100)/100) > 1e-9:
		t.Errorf("minutes_to_exhaustion %v, want %v", p["minutes_to_exhaustion"], left)
	case math.Abs(p["budget_remaining"].(float64)-100*left/100.6) > 1e-9:
		t.Errorf("budget_remaining %v, want %v", p["budget_remaining"], 100*left/100.6)
	}
	if _, det := f.do("GET", "/1/slos/api/"+sloID+"?detailed", nil); det["status"] != "triggered" {
		t.Errorf("SLO status %v, want triggered", det["status"])
	}
	if _, a := f.do("GET", "/1/burn_alerts/api/"+alertID, nil); a["triggered"] != true {
		t.Errorf("burn alert %v, want triggered", a)
	}
	// Within the minute: not evaluated again.
	f.clock.Add(30 * time.Second)
	tick(e)
	f.expectNone("a second tick within the minute")
	// Two hours later the failures are out of the lookback: the budget
	// is no longer being spent.
	f.clock.Add(2 * time.Hour)
	tick(e)
	got = f.hook.take()
	if len(got) != 1 || got[0].payload["status"] != "OK" {
		t.Fatalf("deliveries: %v, want one OK", got)
	}
	if _, ok := got[0].payload["minutes_to_exhaustion"]; ok {
		t.Errorf("resolved payload %v: want no projection when nothing is spent", got[0].payload)
	}
}

// TestBudgetRateBurnAlert: a budget_rate alert fires when its window
// spent at least its threshold of the period's budget, and two nodes
// evaluate an SLO once between them.
func TestBudgetRateBurnAlert(t *testing.T) {
	f := newFixture(t, 0)
	f.writeAt(f.clock.Now().Add(-3*time.Hour), 999, false, 50) // 1,000 good with the seed
	sloID := f.slo(995000, 7)
	f.create("/1/burn_alerts/api", map[string]any{"alert_type": "budget_rate", "budget_rate_window_minutes": 60,
		"budget_rate_decrease_threshold_per_million": 200000, // 20% of the budget in an hour
		"slo": map[string]any{"id": sloID}, "recipients": []any{map[string]any{"id": f.rcpt}}})
	a, b := f.evaluator("node-a", nil), f.evaluator("node-b", nil)
	// One failure: the budget of 1,001 events is 5.005; one is 19.98%.
	f.writeAt(f.clock.Now().Add(-10*time.Minute), 1, false, 900)
	tick(a)
	tick(b)
	f.expectNone("19.98% of the budget in the window")
	f.clock.Add(time.Minute)
	f.writeAt(f.clock.Now().Add(-10*time.Minute), 1, false, 900)
	tick(a)
	tick(b)
	got := f.hook.take()
	if len(got) != 1 || got[0].payload["status"] != "TRIGGERED" || got[0].payload["type"] != "budget_rate" {
		t.Fatalf("deliveries: %v, want one TRIGGERED budget_rate from one of the nodes", got)
	}
	// 2 of 5.01 allowed: 399,201 per million.
	if d := got[0].payload["budget_decrease_per_million"].(float64); math.Abs(d-math.Round(2/(1002*0.005)*1e6)) > 1e-9 {
		t.Errorf("budget_decrease_per_million %v, want %v", d, math.Round(2/(1002*0.005)*1e6))
	}
}

// TestExhaustionLookback: a quarter of the exhaustion time, at least a
// minute.
func TestExhaustionLookback(t *testing.T) {
	for minutes, want := range map[int]time.Duration{0: time.Minute, 2: time.Minute, 240: time.Hour, 1440: 6 * time.Hour} {
		if got := alerting.ExhaustionLookback(minutes); got != want {
			t.Errorf("ExhaustionLookback(%d) = %v, want %v", minutes, got, want)
		}
	}
}

// TestBaselineTrigger: a trigger with a baseline threshold compares the
// change of its calculation since the offset (an hour) with the
// threshold: 30 errors now against 10 an hour ago is +20 (value) or
// +66.7% (percentage), so "> 15" fires the value trigger, "> 50" the
// percentage one, and "> 25" neither.
func TestBaselineTrigger(t *testing.T) {
	f := newFixture(t, 0)
	f.writeAt(f.clock.Now().Add(-time.Hour-10*time.Second), 10, true, 5)
	f.write(30, true, 5)
	mk := func(name, typ string, over float64) string {
		return f.create("/1/triggers/api", map[string]any{"name": name,
			"query": map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}},
				"filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}, "time_range": 60},
			"threshold": map[string]any{"op": ">", "value": over}, "frequency": 60,
			"baseline_details": map[string]any{"offset_minutes": 60, "type": typ},
			"recipients":       []any{map[string]any{"id": f.rcpt}}})["id"].(string)
	}
	value, pct := mk("value", "value", 15), mk("percentage", "percentage", 50)
	quiet := mk("quiet", "value", 25)
	tick(f.evaluator("node-a", nil))
	fired := map[string]float64{}
	for _, d := range f.hook.take() {
		g := d.payload["result_groups_triggered"].([]any)[0].(map[string]any)
		fired[d.payload["id"].(string)] = g["Result"].(float64)
	}
	if len(fired) != 2 || fired[value] != 20 || math.Abs(fired[pct]-100*20.0/30) > 1e-9 {
		t.Errorf("fired %v: want %s with +20 and %s with +66.67%%", fired, value, pct)
	}
	if _, tr := f.do("GET", "/1/triggers/api/"+quiet, nil); fired[quiet] != 0 || tr["triggered"] != false {
		t.Errorf("the trigger over 25 fired")
	}
}
