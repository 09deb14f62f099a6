package sampling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

const (
	maxStatisticsDocs = 25
	clientIDLen       = 24
	// javaMillisThreshold: Timestamps above it are epoch milliseconds (the
	// Java SDK serialises dates that way) and are divided by 1000.
	javaMillisThreshold = 1e11
)

// StatisticsDocument is what an SDK instance reports for one rule
// (GetSamplingTargets input); nil means "not given".
type StatisticsDocument struct {
	RuleName     *string  `json:"RuleName"`
	ClientID     *string  `json:"ClientID"`
	Timestamp    *float64 `json:"Timestamp"` // epoch seconds (or ms, normalised)
	RequestCount *int64   `json:"RequestCount"`
	SampledCount *int64   `json:"SampledCount"`
	BorrowCount  *int64   `json:"BorrowCount"`
}

// Target is the sampling target of one rule for the reporting instance.
type Target struct {
	RuleName          string
	FixedRate         float64
	ReservoirQuota    int64 // per second, for this instance
	ReservoirQuotaTTL time.Time
	Interval          int64 // seconds
	// Boost is the rule's adaptive-sampling boost in force, if any.
	Boost *Boost
}

// Unprocessed is a statistics document that was not applied.
type Unprocessed struct {
	RuleName  string
	ErrorCode string
	Message   string
}

// TargetsResult is the answer to GetSamplingTargets.
type TargetsResult struct {
	Targets              []Target
	LastRuleModification time.Time
	Unprocessed          []Unprocessed
	UnprocessedBoost     []Unprocessed
}

// StatisticSummary aggregates one rule's reports over one window.
type StatisticSummary struct {
	RuleName     string
	Timestamp    time.Time // window start
	RequestCount int64
	BorrowCount  int64
	SampledCount int64
}

// State kinds of the statistics, shared by every process and node so
// that reservoirs are split among all instances of the fleet:
//   - kindClient: one record per rule and reporting instance, keyed
//     "<rule>/<ClientID>", its request rate and when it last reported;
//   - kindWindow: one record per rule and StatsWindow, keyed
//     "<rule>/<window start, 10 digits of Unix seconds>", the counts.
const (
	kindClient state.Kind = "xray.sampling-client"
	kindWindow state.Kind = "xray.sampling-window"
)

type clientStat struct {
	Seen time.Time `json:"seen"`
	Rate float64   `json:"rate"` // requests per second over the last interval
}

type windowStat struct {
	Requests int64 `json:"requests"`
	Sampled  int64 `json:"sampled"`
	Borrows  int64 `json:"borrows"`
}

func windowKey(rule string, start int64) string { return fmt.Sprintf("%s/%010d", rule, start) }

// NormalizeTimestamp converts a reported Timestamp to a time: values above
// 1e11 are taken as epoch milliseconds.
func NormalizeTimestamp(ts float64) time.Time {
	if ts > javaMillisThreshold {
		ts /= 1000
	}
	sec, frac := math.Modf(ts)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func validateStatistics(docs []StatisticsDocument) error {
	var v violations
	if docs == nil {
		v.required("samplingStatisticsDocuments")
	}
	if len(docs) > maxStatisticsDocs {
		v.add("Value at 'samplingStatisticsDocuments' failed to satisfy constraint: Member must have length less than or equal to %d", maxStatisticsDocs)
	}
	for i, d := range docs {
		p := fmt.Sprintf("samplingStatisticsDocuments.%d.member", i+1)
		if d.RuleName == nil {
			v.required(p + ".ruleName")
		} else {
			v.lenRange(p+".ruleName", *d.RuleName, 1, maxRuleName)
		}
		if d.ClientID == nil {
			v.required(p + ".clientID")
		} else {
			v.lenRange(p+".clientID", *d.ClientID, clientIDLen, clientIDLen)
		}
		if d.Timestamp == nil {
			v.required(p + ".timestamp")
		} else if math.IsNaN(*d.Timestamp) || math.IsInf(*d.Timestamp, 0) || *d.Timestamp < 0 {
			v.add("Value '%v' at '%s' failed to satisfy constraint: Member must be a valid timestamp", *d.Timestamp, p+".timestamp")
		}
		count := func(name string, c *int64, req bool) {
			switch {
			case c == nil && req:
				v.required(p + "." + name)
			case c != nil && *c < 0:
				v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 0", *c, p+"."+name)
			}
		}
		count("requestCount", d.RequestCount, true)
		count("sampledCount", d.SampledCount, true)
		count("borrowCount", d.BorrowCount, false)
	}
	return v.err()
}

// Targets records the statistics of a GetSamplingTargets call and returns
// a target for each known rule reported. Unknown rules and timestamps
// further than Config.StaleAfter from now come back as Unprocessed with
// ErrorCode "400" (SDKs then refresh their rules).
//
// Boost reports of rules with a SamplingRateBoost feed adaptive sampling
// (boost.go); a report of an unknown rule or one without a boost comes
// back in UnprocessedBoost. Each target carries its rule's boost in force.
func (m *Manager) Targets(ctx context.Context, env string, docs []StatisticsDocument, boosts []BoostStatisticsDocument) (TargetsResult, error) {
	if err := validateStatistics(docs); err != nil {
		return TargetsResult{}, err
	}
	if err := validateBoostStatistics(boosts); err != nil {
		return TargetsResult{}, err
	}
	type acceptedBoost struct {
		doc  BoostStatisticsDocument
		rule Rule
	}
	var okBoosts []acceptedBoost
	// The rules and the time of their last change come from the cached
	// configuration; the statistics from the state store, in one
	// transaction with this call's reports.
	type accepted struct {
		doc  StatisticsDocument
		rule RuleRecord
	}
	var res TargetsResult
	var ok []accepted
	now := m.now()
	err := m.read(env, func(st *envState) error {
		for _, d := range docs {
			name := *d.RuleName
			rec, found := st.rules[name]
			if !found {
				res.Unprocessed = append(res.Unprocessed, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Sampling rule %s does not exist.", name)})
				continue
			}
			ts := NormalizeTimestamp(*d.Timestamp)
			if skew := now.Sub(ts); skew > m.cfg.StaleAfter || -skew > m.cfg.StaleAfter {
				res.Unprocessed = append(res.Unprocessed, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Statistics timestamp %s is more than %s away from the server time %s.", ts.Format(time.RFC3339), m.cfg.StaleAfter, now.UTC().Format(time.RFC3339))})
				continue
			}
			ok = append(ok, accepted{doc: d, rule: cloneRecord(*rec)})
		}
		for _, d := range boosts {
			name := *d.RuleName
			rec, found := st.rules[name]
			switch {
			case !found:
				res.UnprocessedBoost = append(res.UnprocessedBoost, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Sampling rule %s does not exist.", name)})
			case rec.Rule.SamplingRateBoost == nil:
				res.UnprocessedBoost = append(res.UnprocessedBoost, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Sampling rule %s has no SamplingRateBoost.", name)})
			default:
				okBoosts = append(okBoosts, acceptedBoost{doc: d, rule: cloneRecord(*rec).Rule})
			}
		}
		res.LastRuleModification = st.lastRuleChange
		return nil
	})
	if err != nil {
		return TargetsResult{}, err
	}
	if res.LastRuleModification.IsZero() {
		res.LastRuleModification = time.Unix(0, 0).UTC()
	}
	if len(ok) == 0 && len(okBoosts) == 0 {
		return res, nil
	}
	err = m.cfg.State.Update(ctx, func(tx state.Tx) error {
		for _, a := range ok {
			if err := m.record(tx, env, a.doc, now); err != nil {
				return err
			}
		}
		for _, a := range okBoosts {
			if err := m.recordBoost(tx, env, a.rule, a.doc, now); err != nil {
				return err
			}
		}
		clients, err := m.activeClients(tx, env, now)
		if err != nil {
			return err
		}
		if err := m.pruneWindows(tx, env, now); err != nil {
			return err
		}
		res.Targets = res.Targets[:0]
		for _, a := range ok {
			name := a.rule.Rule.RuleName
			boost, err := m.activeBoost(tx, env, name, now)
			if err != nil {
				return err
			}
			res.Targets = append(res.Targets, Target{
				RuleName:          name,
				FixedRate:         a.rule.Rule.FixedRate,
				ReservoirQuota:    ReservoirShares(a.rule.Rule.ReservoirSize, clients[name])[*a.doc.ClientID],
				ReservoirQuotaTTL: now.Add(m.cfg.QuotaTTL).Truncate(time.Second),
				Interval:          int64(m.cfg.Interval / time.Second),
				Boost:             boost,
			})
		}
		return nil
	})
	if err != nil {
		m.cfg.Logger.Error("cannot record sampling statistics", "env", env, "err", err)
		return TargetsResult{}, err
	}
	return res, nil
}

// record adds one report: the instance's rate and its window's counts.
func (m *Manager) record(tx state.Tx, env string, d StatisticsDocument, now time.Time) error {
	rule := *d.RuleName
	c, err := json.Marshal(clientStat{Seen: now.UTC(), Rate: float64(*d.RequestCount) / m.cfg.Interval.Seconds()})
	if err != nil {
		return err
	}
	if _, err := tx.Put(state.Record{Kind: kindClient, Scope: env, Key: rule + "/" + *d.ClientID, Value: c}, state.AnyVersion); err != nil {
		return err
	}
	key := windowKey(rule, now.Truncate(m.cfg.StatsWindow).Unix())
	var w windowStat
	version := state.MustNotExist
	rec, err := tx.Get(kindWindow, env, key)
	switch {
	case err == nil:
		if err := json.Unmarshal(rec.Value, &w); err != nil {
			return fmt.Errorf("sampling: corrupt statistics %s: %w", key, err)
		}
		version = rec.Version
	case !errors.Is(err, state.ErrNotFound):
		return err
	}
	w.Requests += *d.RequestCount
	w.Sampled += *d.SampledCount
	if d.BorrowCount != nil {
		w.Borrows += *d.BorrowCount
	}
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	_, err = tx.Put(state.Record{Kind: kindWindow, Scope: env, Key: key, Value: b}, version)
	return err
}

// activeClients returns the request rates of the instances that reported
// within the last two intervals, by rule, and deletes the others.
func (m *Manager) activeClients(tx state.Tx, env string, now time.Time) (map[string]map[string]float64, error) {
	recs, err := tx.List(kindClient, env)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]float64{}
	for _, r := range recs {
		rule, client, _ := strings.Cut(r.Key, "/")
		var c clientStat
		if err := json.Unmarshal(r.Value, &c); err != nil || now.Sub(c.Seen) > 2*m.cfg.Interval {
			if err := tx.Delete(kindClient, env, r.Key, r.Version); err != nil {
				return nil, err
			}
			continue
		}
		if out[rule] == nil {
			out[rule] = map[string]float64{}
		}
		out[rule][client] = c.Rate
	}
	return out, nil
}

// pruneWindows deletes the windows older than the retention.
func (m *Manager) pruneWindows(tx state.Tx, env string, now time.Time) error {
	keys, err := tx.Keys(kindWindow, env)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if start, ok := windowStart(k); !ok || now.Sub(time.Unix(start, 0)) > m.cfg.StatsRetention {
			if err := tx.Delete(kindWindow, env, k, state.AnyVersion); err != nil {
				return err
			}
		}
	}
	return nil
}

// windowStart reads the start of a window from its key.
func windowStart(key string) (int64, bool) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return 0, false
	}
	start, err := strconv.ParseInt(key[i+1:], 10, 64)
	return start, err == nil
}

// ReservoirShares splits a reservoir of size traces per second among
// instances in proportion to their request rates: each share is floored and
// the remainder goes one by one to the busiest instances (ties by id), so
// the shares sum to size. When no instance reports any requests the
// reservoir is split evenly.
func ReservoirShares(size int64, rates map[string]float64) map[string]int64 {
	out := make(map[string]int64, len(rates))
	if size <= 0 || len(rates) == 0 {
		for id := range rates {
			out[id] = 0
		}
		return out
	}
	ids := make([]string, 0, len(rates))
	clean := make(map[string]float64, len(rates))
	var total float64
	for id, r := range rates {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			r = 0
		}
		clean[id] = r
		total += r
		ids = append(ids, id)
	}
	rates = clean
	sort.Slice(ids, func(i, j int) bool {
		if rates[ids[i]] != rates[ids[j]] {
			return rates[ids[i]] > rates[ids[j]]
		}
		return ids[i] < ids[j]
	})
	var given int64
	for _, id := range ids {
		var share int64
		if total > 0 {
			share = int64(math.Floor(float64(size) * rates[id] / total))
		} else {
			share = size / int64(len(ids))
		}
		out[id] = share
		given += share
	}
	for i := 0; given < size; i = (i + 1) % len(ids) {
		out[ids[i]]++
		given++
	}
	return out
}

// StatisticSummaries returns the retained statistics windows of env, by
// rule name and then window start.
func (m *Manager) StatisticSummaries(ctx context.Context, env string) ([]StatisticSummary, error) {
	if env == "" {
		return nil, errors.New("sampling: empty environment")
	}
	recs, err := m.cfg.State.List(ctx, kindWindow, env)
	if err != nil {
		return nil, err
	}
	now := m.now()
	out := []StatisticSummary{}
	for _, r := range recs {
		start, ok := windowStart(r.Key)
		var w windowStat
		if !ok || now.Sub(time.Unix(start, 0)) > m.cfg.StatsRetention || json.Unmarshal(r.Value, &w) != nil {
			continue
		}
		out = append(out, StatisticSummary{RuleName: r.Key[:strings.LastIndexByte(r.Key, '/')], Timestamp: time.Unix(start, 0).UTC(),
			RequestCount: w.Requests, SampledCount: w.Sampled, BorrowCount: w.Borrows})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RuleName != out[j].RuleName {
			return out[i].RuleName < out[j].RuleName
		}
		return out[i].Timestamp.Before(out[j].Timestamp)
	})
	return out, nil
}
