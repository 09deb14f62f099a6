package store

import (
	"context"
	"slices"

	"github.com/tracecomb/tracecomb/internal/model"
)

// SelectTraces with one door asks that door's part of the environment.
// With several, a trace is one trace across them (the same id), so a
// requirement may be met by an event of any door and a trace's newest
// event may be in any: the view asks each door for the traces meeting
// each requirement (or, without requirements, for each door's newest
// traces, page by page), then each door for the newest event of every
// candidate (a filter on trace.trace_id), and orders and limits the
// union. It reads more than one door's SelectTraces would; the joined
// view is tracecomb's own extra, not the X-Ray API's default.
func (v doorView) SelectTraces(ctx context.Context, env string, q TraceQuery) (TraceSelection, error) {
	if len(v.doors) == 1 {
		return v.r.SelectTraces(ctx, DoorEnv(env, v.doors[0]), q)
	}
	var envs []string
	for _, d := range v.doors {
		if e := DoorEnv(env, d); !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	if len(envs) == 1 {
		return v.r.SelectTraces(ctx, envs[0], q)
	}
	j := joinedTraces{r: v.r, envs: envs, q: q, last: map[model.TraceID]TraceRef{}}
	var out TraceSelection
	var err error
	if len(q.Require) == 0 {
		out, err = j.newest(ctx)
	} else {
		out, err = j.matching(ctx)
	}
	if err != nil {
		return TraceSelection{}, err
	}
	if q.Count {
		out.Total, err = j.count(ctx)
		if err != nil {
			return TraceSelection{}, err
		}
	}
	return out, nil
}

// joinedTraces answers a TraceQuery over several door environments.
type joinedTraces struct {
	r    Reader
	envs []string
	q    TraceQuery
	// last holds the candidates whose newest event over every door is
	// known.
	last map[model.TraceID]TraceRef
}

// after reports whether t comes after the query's After (always, without
// one).
func (j *joinedTraces) after(t TraceRef) bool {
	return j.q.After == nil || CompareTraces(*j.q.After, t) < 0
}

// resolve finds, for every id not resolved yet, its newest event in range
// across the doors.
func (j *joinedTraces) resolve(ctx context.Context, ids []model.TraceID) error {
	var vals []model.Value
	for _, id := range ids {
		if _, ok := j.last[id]; !ok {
			vals = append(vals, model.Str(id.HoneycombString()))
		}
	}
	if len(vals) == 0 {
		return nil
	}
	byID := SpanMatch{Any: []Filter{{Column: model.FieldTraceID, Op: OpIn, Values: vals}}}
	for _, e := range j.envs {
		sel, err := j.r.SelectTraces(ctx, e, TraceQuery{Start: j.q.Start, End: j.q.End, Require: []SpanMatch{byID}})
		if err != nil {
			return err
		}
		for _, t := range sel.Traces {
			if cur, ok := j.last[t.ID]; !ok || t.Last.After(cur.Last) {
				j.last[t.ID] = t
			}
		}
	}
	return nil
}

// finish orders the resolved candidates that pass After, limits them and
// says whether more follow.
func (j *joinedTraces) finish(cands []TraceRef, more bool) TraceSelection {
	slices.SortFunc(cands, CompareTraces)
	if j.q.Limit > 0 && len(cands) > j.q.Limit {
		return TraceSelection{Traces: cands[:j.q.Limit:j.q.Limit], More: true}
	}
	if cands == nil {
		cands = []TraceRef{}
	}
	return TraceSelection{Traces: cands, More: more}
}

// matching answers a query with requirements: the traces meeting each
// requirement in some door, intersected.
func (j *joinedTraces) matching(ctx context.Context) (TraceSelection, error) {
	var matched map[model.TraceID]bool
	for _, req := range j.q.Require {
		met := map[model.TraceID]bool{}
		for _, e := range j.envs {
			sel, err := j.r.SelectTraces(ctx, e, TraceQuery{Start: j.q.Start, End: j.q.End, Require: []SpanMatch{req}})
			if err != nil {
				return TraceSelection{}, err
			}
			for _, t := range sel.Traces {
				if matched == nil || matched[t.ID] {
					met[t.ID] = true
				}
			}
		}
		matched = met
		if len(matched) == 0 {
			break
		}
	}
	ids := make([]model.TraceID, 0, len(matched))
	for id := range matched {
		ids = append(ids, id)
	}
	if err := j.resolve(ctx, ids); err != nil {
		return TraceSelection{}, err
	}
	var cands []TraceRef
	for _, id := range ids {
		if t, ok := j.last[id]; ok && j.after(t) {
			cands = append(cands, t)
		}
	}
	return j.finish(cands, false), nil
}

// newest answers a query without requirements: each door's newest traces
// page by page, until the candidates that no unread trace can precede
// fill the limit. A trace's order comes from its newest event over every
// door, so a door's page may hold traces that another door puts before
// After; resolve finds those.
func (j *joinedTraces) newest(ctx context.Context) (TraceSelection, error) {
	type cursor struct {
		after *TraceRef // the last trace read, nil before the first page
		done  bool
	}
	curs := make([]cursor, len(j.envs))
	page := 0
	if j.q.Limit > 0 {
		page = j.q.Limit + 1
	}
	seen := map[model.TraceID]bool{}
	var ids []model.TraceID
	for {
		for i, e := range j.envs {
			c := &curs[i]
			if c.done {
				continue
			}
			q := TraceQuery{Start: j.q.Start, End: j.q.End, Limit: page, After: j.q.After}
			if c.after != nil {
				q.After = c.after
			}
			sel, err := j.r.SelectTraces(ctx, e, q)
			if err != nil {
				return TraceSelection{}, err
			}
			for _, t := range sel.Traces {
				if !seen[t.ID] {
					seen[t.ID] = true
					ids = append(ids, t.ID)
				}
			}
			if n := len(sel.Traces); n > 0 {
				last := sel.Traces[n-1]
				c.after = &last
			}
			c.done = !sel.More
		}
		if err := j.resolve(ctx, ids); err != nil {
			return TraceSelection{}, err
		}
		// A trace not read yet comes after every open door's last read
		// trace (its newest event is in some door, where it was not read).
		var frontier *TraceRef
		for _, c := range curs {
			if !c.done && (frontier == nil || CompareTraces(*c.after, *frontier) < 0) {
				frontier = c.after
			}
		}
		var final []TraceRef
		open := false
		for _, id := range ids {
			t, ok := j.last[id]
			if !ok || !j.after(t) {
				continue
			}
			if frontier != nil && CompareTraces(t, *frontier) > 0 {
				open = true // an unread trace might precede it
				continue
			}
			final = append(final, t)
		}
		if frontier == nil || (j.q.Limit > 0 && len(final) > j.q.Limit) {
			return j.finish(final, open), nil
		}
	}
}

// count counts the distinct traces with an event in range over the doors.
func (j *joinedTraces) count(ctx context.Context) (int, error) {
	all := map[model.TraceID]bool{}
	for _, e := range j.envs {
		sel, err := j.r.SelectTraces(ctx, e, TraceQuery{Start: j.q.Start, End: j.q.End})
		if err != nil {
			return 0, err
		}
		for _, t := range sel.Traces {
			all[t.ID] = true
		}
	}
	return len(all), nil
}
