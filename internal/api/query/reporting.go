package query

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
)

// SLOHistory is one interval of an SLO's history
// (POST /1/reporting/slos/historical): Timestamp is the interval's start
// (Unix seconds); Compliance and BudgetRemaining are the SLO's over its
// time period ending at the interval's end.
type SLOHistory struct {
	Timestamp       int64   `json:"timestamp"`
	Compliance      float64 `json:"compliance"`
	BudgetRemaining float64 `json:"budget_remaining"`
}

// Bounds of a history request (Honeycomb's SLOHistoryRequest): 1–24 SLO
// ids, start_time at most a year back, end_time after it and not in the
// future.
const (
	maxHistoryIDs = 24
	maxHistoryAge = 366 * 24 * time.Hour
)

// HistoryStep is the interval of an SLO history of the range from start
// to end: an hour up to seven days, a day beyond.
func HistoryStep(start, end time.Time) time.Duration {
	if end.Sub(start) <= 7*24*time.Hour {
		return time.Hour
	}
	return 24 * time.Hour
}

// SLOHistoryOf computes the history of SLO s from start to end in
// intervals of step (one query per dataset over the range and the SLO's
// period before it).
func SLOHistoryOf(ctx context.Context, st Store, ss state.Store, e string, s SLO, start, end time.Time, step time.Duration) ([]SLOHistory, error) {
	period := time.Duration(s.TimePeriodDays) * 24 * time.Hour
	start = start.Truncate(step)
	buckets, err := CountSLOSeries(ctx, st, ss, e, s, start.Add(-period), end, step)
	if err != nil {
		return nil, err
	}
	out := []SLOHistory{}
	// A sliding sum over the buckets: the window of the interval starting
	// at t is [t+step-period, t+step).
	var win SLOCounts
	lo, hi := 0, 0
	for t := start; t.Before(end); t = t.Add(step) {
		winEnd := t.Add(step)
		winStart := SLOPeriodStart(s, winEnd)
		for hi < len(buckets) && buckets[hi].Start.Before(winEnd) {
			win.Good += buckets[hi].Good
			win.Bad += buckets[hi].Bad
			hi++
		}
		for lo < hi && buckets[lo].Start.Before(winStart) {
			win.Good -= buckets[lo].Good
			win.Bad -= buckets[lo].Bad
			lo++
		}
		if win.Total() == 0 {
			continue // no data for this interval
		}
		out = append(out, SLOHistory{Timestamp: t.Unix(), Compliance: win.Compliance(), BudgetRemaining: win.BudgetRemaining(s)})
	}
	return out, nil
}

// sloHistory answers POST /1/reporting/slos/historical: for each SLO id,
// its history over the range (an empty array when it has no data there).
func (h *handler) sloHistory(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IDs       []string `json:"ids"`
		StartTime *int64   `json:"start_time"`
		EndTime   *int64   `json:"end_time"`
	}
	if !decodeInput(w, r, &in, "request") {
		return
	}
	now := h.d.Now()
	switch {
	case len(in.IDs) == 0:
		writeProblem(w, "ids", "missing", "ids: at least one SLO id is required")
		return
	case len(in.IDs) > maxHistoryIDs:
		writeProblem(w, "ids", "invalid", fmt.Sprintf("ids: at most %d SLO ids, got %d", maxHistoryIDs, len(in.IDs)))
		return
	case in.StartTime == nil:
		writeProblem(w, "start_time", "missing", "start_time: is required")
		return
	case in.EndTime == nil:
		writeProblem(w, "end_time", "missing", "end_time: is required")
		return
	case time.Unix(*in.StartTime, 0).Before(now.Add(-maxHistoryAge)):
		writeProblem(w, "start_time", "invalid", "start_time: cannot be more than a year in the past")
		return
	case *in.EndTime <= *in.StartTime:
		writeProblem(w, "end_time", "invalid", "end_time: must be greater than start_time")
		return
	case time.Unix(*in.EndTime, 0).After(now):
		writeProblem(w, "end_time", "invalid", "end_time: cannot be in the future")
		return
	}
	e := env(r)
	var slos []SLO
	for i, id := range in.IDs {
		s, err := GetSLO(r.Context(), h.d.State, e, id)
		if errors.Is(err, state.ErrNotFound) {
			writeProblem(w, fmt.Sprintf("ids[%d]", i), "invalid", fmt.Sprintf("ids[%d]: no SLO %s in this environment", i, id))
			return
		}
		if err != nil {
			h.objectFailed(w, "SLO", err)
			return
		}
		slos = append(slos, s)
	}
	start, end := time.Unix(*in.StartTime, 0).UTC(), time.Unix(*in.EndTime, 0).UTC()
	step := HistoryStep(start, end)
	ctx, cancel := context.WithTimeout(r.Context(), h.d.QueryTimeout)
	defer cancel()
	out := make(map[string][]SLOHistory, len(slos))
	for _, s := range slos {
		hist, err := SLOHistoryOf(ctx, h.d.Store, h.d.State, e, s, start, end, step)
		if err != nil {
			h.runFailed(w, r, ctx, "ids", err)
			return
		}
		out[s.ID] = hist
	}
	api.WriteJSON(w, http.StatusOK, out)
}
