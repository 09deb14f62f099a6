package sampling

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
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
}

// StatisticSummary aggregates one rule's reports over one window.
type StatisticSummary struct {
	RuleName     string
	Timestamp    time.Time // window start
	RequestCount int64
	BorrowCount  int64
	SampledCount int64
}

type clientStat struct {
	lastSeen time.Time
	rate     float64 // requests per second over the last interval
}

type windowKey struct {
	rule  string
	start int64 // unix seconds
}

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
func (m *Manager) Targets(ctx context.Context, env string, docs []StatisticsDocument) (TargetsResult, error) {
	if err := validateStatistics(docs); err != nil {
		return TargetsResult{}, err
	}
	var res TargetsResult
	err := m.read(env, func(st *envState) error {
		now := m.now()
		st.prune(now, m.cfg)
		for _, d := range docs {
			name := *d.RuleName
			rec, ok := st.rules[name]
			if !ok {
				res.Unprocessed = append(res.Unprocessed, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Sampling rule %s does not exist.", name)})
				continue
			}
			ts := NormalizeTimestamp(*d.Timestamp)
			if skew := now.Sub(ts); skew > m.cfg.StaleAfter || -skew > m.cfg.StaleAfter {
				res.Unprocessed = append(res.Unprocessed, Unprocessed{RuleName: name, ErrorCode: "400", Message: fmt.Sprintf("Statistics timestamp %s is more than %s away from the server time %s.", ts.Format(time.RFC3339), m.cfg.StaleAfter, now.UTC().Format(time.RFC3339))})
				continue
			}
			st.record(name, d, now, m.cfg)
			res.Targets = append(res.Targets, Target{
				RuleName:          name,
				FixedRate:         rec.Rule.FixedRate,
				ReservoirQuota:    st.quota(name, *d.ClientID, rec.Rule.ReservoirSize, now, m.cfg.Interval),
				ReservoirQuotaTTL: now.Add(m.cfg.QuotaTTL).Truncate(time.Second),
				Interval:          int64(m.cfg.Interval / time.Second),
			})
		}
		res.LastRuleModification = st.lastRuleChange
		if res.LastRuleModification.IsZero() {
			res.LastRuleModification = time.Unix(0, 0).UTC()
		}
		return nil
	})
	return res, err
}

func (st *envState) record(rule string, d StatisticsDocument, now time.Time, cfg Config) {
	clients := st.clients[rule]
	if clients == nil {
		clients = map[string]*clientStat{}
		st.clients[rule] = clients
	}
	clients[*d.ClientID] = &clientStat{lastSeen: now, rate: float64(*d.RequestCount) / cfg.Interval.Seconds()}

	k := windowKey{rule: rule, start: now.Truncate(cfg.StatsWindow).Unix()}
	w := st.windows[k]
	if w == nil {
		w = &StatisticSummary{RuleName: rule, Timestamp: time.Unix(k.start, 0).UTC()}
		st.windows[k] = w
	}
	w.RequestCount += *d.RequestCount
	w.SampledCount += *d.SampledCount
	if d.BorrowCount != nil {
		w.BorrowCount += *d.BorrowCount
	}
}

// prune forgets clients silent for more than two intervals and windows
// older than the retention.
func (st *envState) prune(now time.Time, cfg Config) {
	for rule, clients := range st.clients {
		for id, c := range clients {
			if now.Sub(c.lastSeen) > 2*cfg.Interval {
				delete(clients, id)
			}
		}
		if len(clients) == 0 {
			delete(st.clients, rule)
		}
	}
	for k := range st.windows {
		if now.Sub(time.Unix(k.start, 0)) > cfg.StatsRetention {
			delete(st.windows, k)
		}
	}
}

// quota is clientID's share of the rule's reservoir among the instances
// active within the last two intervals.
func (st *envState) quota(rule, clientID string, size int64, now time.Time, interval time.Duration) int64 {
	rates := map[string]float64{}
	for id, c := range st.clients[rule] {
		if now.Sub(c.lastSeen) <= 2*interval {
			rates[id] = c.rate
		}
	}
	return ReservoirShares(size, rates)[clientID]
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
	var out []StatisticSummary
	err := m.read(env, func(st *envState) error {
		st.prune(m.now(), m.cfg)
		for _, w := range st.windows {
			out = append(out, *w)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].RuleName != out[j].RuleName {
			return out[i].RuleName < out[j].RuleName
		}
		return out[i].Timestamp.Before(out[j].Timestamp)
	})
	return out, err
}
