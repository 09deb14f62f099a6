package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// SLOCounts are an SLO's qualified events in a time range: Good where its
// SLI was true, Bad where it was false.
type SLOCounts struct {
	Good, Bad int64
}

// Total is the number of qualified events.
func (c SLOCounts) Total() int64 { return c.Good + c.Bad }

// allowedRatio is the share of qualified events an SLO may fail: its
// error budget per event.
func allowedRatio(s SLO) float64 { return float64(1_000_000-s.TargetPerMillion) / 1e6 }

// Compliance is the percentage of qualified events that succeeded; 100
// with none.
func (c SLOCounts) Compliance() float64 {
	if c.Total() == 0 {
		return 100
	}
	return 100 * float64(c.Good) / float64(c.Total())
}

// BudgetRemaining is the percentage of the error budget of c's events
// (Total × the allowed failure ratio) not spent by its failures; negative
// when overspent, 100 with no events.
func (c SLOCounts) BudgetRemaining(s SLO) float64 {
	allowed := float64(c.Total()) * allowedRatio(s)
	if allowed == 0 {
		return 100
	}
	return 100 * (allowed - float64(c.Bad)) / allowed
}

// BurnRate is the failure ratio of c over the allowed one: 1 spends the
// budget exactly over the SLO's period; 0 with no events.
func (c SLOCounts) BurnRate(s SLO) float64 {
	if c.Total() == 0 {
		return 0
	}
	return float64(c.Bad) / float64(c.Total()) / allowedRatio(s)
}

// SLOStatus is an SLO's figures at a time, as GET /1/slos/…?detailed
// reports them.
type SLOStatus struct {
	Period SLOCounts // over the SLO's time period
	// Compliance and BudgetRemaining are Period's; BurnRate is the last
	// four hours' (Honeycomb's API computes burn_rate over 4 hours).
	Compliance, BudgetRemaining, BurnRate float64
	// Status is no_events, no_alerts, triggered (a burn alert is) or
	// normal.
	Status string
}

// BurnRateWindow is the window of SLOStatus.BurnRate.
const BurnRateWindow = 4 * time.Hour

// SLOPeriodStart is where the SLO's time period ending at now starts: its
// length back, or its reset if that is later.
func SLOPeriodStart(s SLO, now time.Time) time.Time {
	start := now.Add(-time.Duration(s.TimePeriodDays) * 24 * time.Hour)
	if s.ResetAt != nil && s.ResetAt.After(start) {
		start = *s.ResetAt
	}
	return start
}

// ComputeSLO computes the figures of SLO s of environment e at now from
// the store (two queries per dataset: the period and the burn-rate
// window) and its burn alerts' state.
func ComputeSLO(ctx context.Context, st Store, ss state.Store, e string, s SLO, now time.Time) (SLOStatus, error) {
	var out SLOStatus
	var err error
	if out.Period, err = CountSLO(ctx, st, ss, e, s, SLOPeriodStart(s, now), now); err != nil {
		return out, err
	}
	recent, err := CountSLO(ctx, st, ss, e, s, now.Add(-BurnRateWindow), now)
	if err != nil {
		return out, err
	}
	out.Compliance, out.BudgetRemaining, out.BurnRate = out.Period.Compliance(), out.Period.BudgetRemaining(s), recent.BurnRate(s)
	alerts, err := burnAlertsOf(ctx, ss, e, s.ID)
	if err != nil {
		return out, err
	}
	switch {
	case out.Period.Total() == 0:
		out.Status = "no_events"
	case len(alerts) == 0:
		out.Status = "no_alerts"
	default:
		out.Status = "normal"
		for _, a := range alerts {
			if a.Triggered {
				out.Status = "triggered"
			}
		}
	}
	return out, nil
}

// sloSpec is the query counting an SLO's events by its SLI.
func sloSpec(s SLO, start, end time.Time) query.Spec {
	from, to := start.Unix(), end.Unix()
	if end.After(time.Unix(to, 0)) {
		to++ // the range ends after end: include its second
	}
	return query.Spec{
		Calculations: []query.CalcSpec{{Op: "COUNT"}},
		Breakdowns:   []string{s.SLI.Alias},
		StartTime:    &from,
		EndTime:      &to,
	}
}

// CountSLO counts the qualified events of SLO s of environment e in
// [start, end] over each of its datasets, through the Query API's own
// planning (its SLI is a derived column).
func CountSLO(ctx context.Context, st Store, ss state.Store, e string, s SLO, start, end time.Time) (SLOCounts, error) {
	var c SLOCounts
	if !end.After(start) {
		return c, nil
	}
	spec := sloSpec(s, start, end)
	for _, ds := range s.DatasetSlugs {
		plan, err := PlanSpec(ctx, ss, e, ds, spec, end)
		if err != nil {
			return c, fmt.Errorf("SLO %s on %s: %w", s.ID, ds, err)
		}
		data, err := query.Run(ctx, st, e, plan, query.RunOptions{Dataset: ds, DisableSeries: true})
		if err != nil {
			return c, err
		}
		for _, row := range data.Results {
			c.add(row.Data[s.SLI.Alias], row.Data["COUNT"])
		}
	}
	return c, nil
}

// add counts n events whose SLI was v: true good, false bad, anything
// else not qualified.
func (c *SLOCounts) add(v, n any) {
	ok, isBool := v.(bool)
	if !isBool {
		return
	}
	var k int64
	switch x := n.(type) {
	case int64:
		k = x
	case float64:
		k = int64(x)
	case int:
		k = int64(x)
	}
	if ok {
		c.Good += k
	} else {
		c.Bad += k
	}
}

// SLOBucket is an SLO's counts in one time bucket.
type SLOBucket struct {
	Start time.Time
	SLOCounts
}

// CountSLOSeries counts the qualified events of SLO s in buckets of step
// over [start, end), ordered by time; buckets without qualified events are
// left out.
func CountSLOSeries(ctx context.Context, st Store, ss state.Store, e string, s SLO, start, end time.Time, step time.Duration) ([]SLOBucket, error) {
	if !end.After(start) {
		return nil, nil
	}
	spec := sloSpec(s, start, end)
	byTime := map[int64]*SLOBucket{}
	for _, ds := range s.DatasetSlugs {
		plan, err := PlanSpec(ctx, ss, e, ds, spec, end)
		if err != nil {
			return nil, fmt.Errorf("SLO %s on %s: %w", s.ID, ds, err)
		}
		plan.Query.Granularity = step
		data, err := query.Run(ctx, st, e, plan, query.RunOptions{Dataset: ds})
		if err != nil {
			return nil, err
		}
		for _, row := range data.Series {
			k := row.Time.Unix()
			b := byTime[k]
			if b == nil {
				b = &SLOBucket{Start: row.Time}
				byTime[k] = b
			}
			b.add(row.Data[s.SLI.Alias], row.Data["COUNT"])
		}
	}
	out := make([]SLOBucket, 0, len(byTime))
	for _, b := range byTime {
		if b.Total() > 0 {
			out = append(out, *b)
		}
	}
	slices.SortFunc(out, func(a, b SLOBucket) int { return a.Start.Compare(b.Start) })
	return out, nil
}
