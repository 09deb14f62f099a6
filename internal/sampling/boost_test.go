package sampling

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func boostDoc(rule string, ts float64, anomalies, total, sampled int64) BoostStatisticsDocument {
	svc := "backend-flask"
	return BoostStatisticsDocument{RuleName: &rule, ServiceName: &svc, Timestamp: &ts, AnomalyCount: &anomalies, TotalCount: &total, SampledAnomalyCount: &sampled}
}

// TestAdaptiveSamplingBoost drives a rule with a SamplingRateBoost (at
// most 50%, one boost per 5 minutes) like a fleet of three SDK instances
// reporting every interval on a fake clock: no boost without anomalies
// or when the fleet sampled one; unsampled anomalies start a boost in the
// same GetSamplingTargets call, at the rate expected to sample one of
// them (1/6 for 6 anomalies) and never above MaxRate (1 anomaly: 50%,
// not 100%); it lasts a minute, then the targets carry none; within the
// cooldown no new boost starts, after it one does.
func TestAdaptiveSamplingBoost(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	spec := cruddur()
	spec.FixedRate = ptr(0.05)
	spec.SamplingRateBoost = &RateBoost{MaxRate: ptr(0.5), CooldownWindowMinutes: ptr[int64](5)}
	if _, err := m.CreateRule(ctx, "test", spec, nil); err != nil {
		t.Fatal(err)
	}
	clients := []string{clientA, clientB, "cccccccccccccccccccccccc"}
	// report is one interval of the fleet: each instance's statistics and
	// anomalies; it returns the boost of the last instance's targets.
	report := func(anomalies, sampled int64) *Boost {
		t.Helper()
		clk.Add(10 * time.Second)
		now := float64(clk.Now().Unix())
		var b *Boost
		for i, c := range clients {
			a, s := anomalies/3, sampled/3
			if i == 0 {
				a, s = a+anomalies%3, s+sampled%3
			}
			res, err := m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", c, now, 100, 5, 0)},
				[]BoostStatisticsDocument{boostDoc("Cruddur", now, a, 100, s)})
			if err != nil || len(res.Targets) != 1 || len(res.UnprocessedBoost) != 0 {
				t.Fatalf("targets: %+v %v", res, err)
			}
			b = res.Targets[0].Boost
		}
		return b
	}
	if b := report(0, 0); b != nil {
		t.Fatalf("no anomalies: boost %+v", b)
	}
	if b := report(6, 2); b != nil {
		t.Fatalf("anomalies the fleet sampled: boost %+v", b)
	}
	if b := report(6, 0); b != nil {
		t.Fatalf("the interval of the burst: boost %+v, want it from the next interval's first report", b)
	}
	b := report(0, 0)
	start := clk.Now()
	if b == nil || math.Abs(b.Rate-1.0/6) > 1e-12 || !b.Until.Equal(start.Add(BoostTTL)) {
		t.Fatalf("after 6 unsampled anomalies: boost %+v, want 1/6 until %s", b, start.Add(BoostTTL))
	}
	// The boost holds for its minute whatever is reported.
	for range 5 {
		if got := report(0, 0); got == nil || got.Rate != b.Rate {
			t.Fatalf("within the boost's minute: %+v, want %+v", got, b)
		}
	}
	if got := report(0, 0); got != nil {
		t.Fatalf("after the boost's minute: %+v, want none", got)
	}
	// Within the cooldown (5 minutes from the boost's start), anomalies
	// start no boost.
	for clk.Now().Before(start.Add(5*time.Minute - 10*time.Second)) {
		if got := report(1, 0); got != nil {
			t.Fatalf("at %s, within the cooldown: boost %+v", clk.Now().Sub(start), got)
		}
	}
	// After it, the one anomaly of the last interval starts a boost, capped
	// at MaxRate (1/1 would be 100%).
	if got := report(0, 0); got == nil || got.Rate != 0.5 {
		t.Fatalf("one anomaly, after the cooldown: boost %+v, want MaxRate 0.5", got)
	}
}

// TestBoostStatisticsRefused: a report of an unknown rule or of a rule
// without a SamplingRateBoost is unprocessed; a document missing a field
// or with a negative count is an InvalidRequest naming it.
func TestBoostStatisticsRefused(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	if _, err := m.CreateRule(ctx, "test", cruddur(), nil); err != nil {
		t.Fatal(err)
	}
	now := float64(clk.Now().Unix())
	res, err := m.Targets(ctx, "test", []StatisticsDocument{}, []BoostStatisticsDocument{boostDoc("Nope", now, 1, 1, 0), boostDoc("Cruddur", now, 1, 1, 0)})
	if err != nil || len(res.UnprocessedBoost) != 2 || res.UnprocessedBoost[0].ErrorCode != "400" || res.UnprocessedBoost[1].RuleName != "Cruddur" {
		t.Fatalf("unprocessed: %+v %v", res, err)
	}
	bad := boostDoc("Cruddur", now, -1, 1, 0)
	bad.ServiceName = nil
	if _, err := m.Targets(ctx, "test", []StatisticsDocument{}, []BoostStatisticsDocument{bad}); kindOf(err) != InvalidRequest ||
		!strings.Contains(err.Error(), "serviceName") || !strings.Contains(err.Error(), "anomalyCount") {
		t.Fatalf("a bad document: %v", err)
	}
}
