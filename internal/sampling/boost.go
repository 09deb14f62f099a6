package sampling

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

// Adaptive sampling (https://docs.aws.amazon.com/xray/latest/devguide/xray-adaptive-sampling.html):
// a rule with a SamplingRateBoost lets X-Ray raise its sampling rate for a
// short while when the SDKs report anomalies (errors, faults, slow
// requests) that the rule's rate did not sample. AWS documents the bounds
// — the boost is at most MaxRate, lasts up to a minute, and one boost
// starts per CooldownWindowMinutes — and that X-Ray "calculates the
// minimum boost needed to capture error traces", not the formula. Here
// that minimum is the rate at which the anomalies reported in a
// reporting interval would be expected to give one sampled anomaly:
// 1/AnomalyCount, at least the rule's FixedRate, at most MaxRate. No
// boost starts when the interval's reports already sampled an anomaly.

// BoostTTL is how long a boost lasts.
const BoostTTL = time.Minute

// BoostStatisticsDocument is what an SDK instance reports of the
// anomalies of one rule and service (GetSamplingTargets'
// SamplingBoostStatisticsDocuments); nil means "not given".
type BoostStatisticsDocument struct {
	RuleName            *string  `json:"RuleName"`
	ServiceName         *string  `json:"ServiceName"`
	Timestamp           *float64 `json:"Timestamp"`
	AnomalyCount        *int64   `json:"AnomalyCount"`
	TotalCount          *int64   `json:"TotalCount"`
	SampledAnomalyCount *int64   `json:"SampledAnomalyCount"`
}

// Boost is a rule's sampling boost: the rate and when it ends.
type Boost struct {
	Rate  float64
	Until time.Time
}

// kindBoost is the state kind of a rule's adaptive-sampling state, keyed
// by rule name: the counts of the current reporting interval and the
// last boost.
const kindBoost state.Kind = "xray.sampling-boost"

type boostState struct {
	// Window is the start of the reporting interval the counts are of.
	Window           time.Time `json:"window"`
	Anomalies        int64     `json:"anomalies"`
	SampledAnomalies int64     `json:"sampled_anomalies"`
	Total            int64     `json:"total"`
	// The last boost: its rate, when it started and when it ends.
	Rate  float64   `json:"rate"`
	Start time.Time `json:"start"`
	Until time.Time `json:"until"`
}

const maxBoostDocs = 25

func validateBoostStatistics(docs []BoostStatisticsDocument) error {
	var v violations
	if len(docs) > maxBoostDocs {
		v.add("Value at 'samplingBoostStatisticsDocuments' failed to satisfy constraint: Member must have length less than or equal to %d", maxBoostDocs)
	}
	for i, d := range docs {
		p := fmt.Sprintf("samplingBoostStatisticsDocuments.%d.member", i+1)
		if d.RuleName == nil {
			v.required(p + ".ruleName")
		} else {
			v.lenRange(p+".ruleName", *d.RuleName, 1, maxRuleName)
		}
		if d.ServiceName == nil {
			v.required(p + ".serviceName")
		} else {
			v.lenRange(p+".serviceName", *d.ServiceName, 0, 64)
		}
		if d.Timestamp == nil {
			v.required(p + ".timestamp")
		} else if math.IsNaN(*d.Timestamp) || math.IsInf(*d.Timestamp, 0) || *d.Timestamp < 0 {
			v.add("Value '%v' at '%s' failed to satisfy constraint: Member must be a valid timestamp", *d.Timestamp, p+".timestamp")
		}
		for _, c := range []struct {
			name string
			n    *int64
		}{{"anomalyCount", d.AnomalyCount}, {"totalCount", d.TotalCount}, {"sampledAnomalyCount", d.SampledAnomalyCount}} {
			switch {
			case c.n == nil:
				v.required(p + "." + c.name)
			case *c.n < 0:
				v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 0", *c.n, p+"."+c.name)
			}
		}
	}
	return v.err()
}

// recordBoost adds one boost report of rule r to its state, first
// starting a boost when the interval that just ended calls for one.
func (m *Manager) recordBoost(tx state.Tx, env string, r Rule, d BoostStatisticsDocument, now time.Time) error {
	b, version, err := m.readBoost(tx, env, r.RuleName)
	if err != nil {
		return err
	}
	window := now.Truncate(m.cfg.Interval).UTC()
	if !b.Window.Equal(window) {
		// The first report of an interval decides on the fleet's counts of
		// the interval before it (only if that one is the one just ended).
		if b.Window.Add(m.cfg.Interval).Equal(window) {
			if rate, ok := boostRate(r, b, now); ok {
				b.Rate, b.Start, b.Until = rate, now.UTC(), now.Add(BoostTTL).UTC()
			}
		}
		b.Window, b.Anomalies, b.SampledAnomalies, b.Total = window, 0, 0, 0
	}
	b.Anomalies += *d.AnomalyCount
	b.SampledAnomalies += *d.SampledAnomalyCount
	b.Total += *d.TotalCount
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = tx.Put(state.Record{Kind: kindBoost, Scope: env, Key: r.RuleName, Value: v}, version)
	return err
}

// boostRate is the boost rule r starts now given its state b, if any:
// none while a boost lasts or within the cooldown after one started, none
// without unsampled anomalies in the interval; else the rate expected to
// sample one of them, between the rule's FixedRate and MaxRate (no boost
// when MaxRate is not above FixedRate).
func boostRate(r Rule, b boostState, now time.Time) (float64, bool) {
	cfg := r.SamplingRateBoost
	if cfg == nil || cfg.MaxRate == nil || cfg.CooldownWindowMinutes == nil {
		return 0, false
	}
	cooldown := time.Duration(*cfg.CooldownWindowMinutes) * time.Minute
	switch {
	case now.Before(b.Until):
		return 0, false
	case !b.Start.IsZero() && now.Before(b.Start.Add(cooldown)):
		return 0, false
	case b.Anomalies == 0 || b.SampledAnomalies > 0:
		return 0, false
	case *cfg.MaxRate <= r.FixedRate:
		return 0, false
	}
	return min(*cfg.MaxRate, max(r.FixedRate, 1/float64(b.Anomalies))), true
}

func (m *Manager) readBoost(tx state.Tx, env, rule string) (boostState, int64, error) {
	var b boostState
	rec, err := tx.Get(kindBoost, env, rule)
	if errors.Is(err, state.ErrNotFound) {
		return b, state.MustNotExist, nil
	}
	if err != nil {
		return b, 0, err
	}
	if err := json.Unmarshal(rec.Value, &b); err != nil {
		return b, 0, fmt.Errorf("sampling: corrupt boost state of %s: %w", rule, err)
	}
	return b, rec.Version, nil
}

// activeBoost returns the boost of rule in force at now, if any.
func (m *Manager) activeBoost(tx state.Tx, env, rule string, now time.Time) (*Boost, error) {
	b, _, err := m.readBoost(tx, env, rule)
	if err != nil || !now.Before(b.Until) {
		return nil, err
	}
	return &Boost{Rate: b.Rate, Until: b.Until}, nil
}
