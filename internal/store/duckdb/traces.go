package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Selecting traces (SelectTraces) reads the events table's ts, trace_hi,
// trace_lo columns and, with requirements, the columns they filter (and
// source); never whole rows. All its statements run in one read
// transaction, so they see one state of the table.
//
// Without requirements every trace in range is a result, and the newest
// come first: it reads the range in slices from its end backwards
// (GROUP BY trace of one slice: max(ts)), the first slice a 64th of the
// range and each next one twice as wide, and stops once Limit+1 traces
// are known. A trace first seen in a slice has its newest event there, so
// the traces of the slices read so far are final and in order.
//
// With requirements one statement finds the traces whose events in range
// meet every requirement (the rows that match any requirement, grouped by
// trace; HAVING bool_or of each) and, for each, m: its newest matching
// event. A trace's newest event is at m or later, so when the (Limit+1)th
// largest m is μ, the answer is among the matched traces with an event in
// [μ, end): a second statement reads only that slice, for those traces
// (their ids as a list parameter, or all traces of the slice when the
// matched set is large), and stops the work Limit asks for.
//
// After (paging) ends the range read at the previous answer's last time:
// a trace of the answer cannot have a newer event. The traces read below
// it that do have one (they straddle that time) are found with the trace
// index: only those whose indexed time range reaches past it have their
// events there looked at, in that bounded slice.
//
// Count is one more statement: the number of distinct (trace_hi,
// trace_lo) in range, which reads the range's ts and trace id columns and
// holds one hash table entry per trace.

// restrictMax is the most matched traces whose ids the ordering statement
// receives as a list; past it, it groups every trace of its slice.
const restrictMax = 16384

// tkey orders like the trace id's bytes: hi then lo, as unsigned.
func tkeyCompare(a, b traceKey) int {
	if c := cmp.Compare(uint64(a.hi), uint64(b.hi)); c != 0 {
		return c
	}
	return cmp.Compare(uint64(a.lo), uint64(b.lo))
}

func (k traceKey) id() model.TraceID {
	var t model.TraceID
	binary.BigEndian.PutUint64(t[:8], uint64(k.hi))
	binary.BigEndian.PutUint64(t[8:], uint64(k.lo))
	return t
}

// tref is a selected trace: its key and its newest event's time (ns).
type tref struct {
	k    traceKey
	last int64
}

// compareRefs orders refs as SelectTraces answers: newest first, then
// the greater id.
func compareRefs(a, b tref) int {
	if c := cmp.Compare(b.last, a.last); c != 0 {
		return c
	}
	return tkeyCompare(b.k, a.k)
}

// notZero keeps events that belong to a trace.
const notZero = `NOT (trace_hi = 0 AND trace_lo = 0)`

// traceSel is one SelectTraces call.
type traceSel struct {
	s  *Store
	tx *sql.Tx
	e  *envReg
	q  store.TraceQuery
	// start and end bound the range (ns, end exclusive); top is where the
	// events of an answer's traces end: end, or just past After.
	start, end, top int64
	after           *tref
	// reqs are the requirements compiled to SQL.
	reqs []sqlExpr
	// pending is the environment's trace index rows still in memory,
	// taken with the transaction's snapshot.
	pending *[tracesBuckets][]traceRow
}

type sqlExpr struct {
	sql  string
	args []any
}

// SelectTraces returns the traces that have an event in range meeting
// every requirement, newest first (see the comment at the top of
// traces.go for how).
func (s *Store) SelectTraces(ctx context.Context, env string, q store.TraceQuery) (store.TraceSelection, error) {
	out, err := s.selectTraces(ctx, env, q)
	if err != nil {
		s.readFailed(err)
		return store.TraceSelection{}, fmt.Errorf("duckdb store: select traces: %w", queryTooLarge(err))
	}
	return out, nil
}

func (s *Store) selectTraces(ctx context.Context, env string, q store.TraceQuery) (store.TraceSelection, error) {
	empty := store.TraceSelection{Traces: []store.TraceRef{}}
	if q.Start.IsZero() || q.End.IsZero() {
		return empty, errors.New("a trace query needs a start and an end")
	}
	if q.Limit < 0 {
		return empty, fmt.Errorf("negative limit %d", q.Limit)
	}
	h, ctx, done, err := s.reader(ctx)
	if err != nil {
		return empty, err
	}
	defer done()
	reg, release := s.snapshot()
	e := reg.envs[env]
	if e == nil || !q.End.After(q.Start) {
		release()
		return empty, nil
	}
	t, err := newTraceSel(e, q)
	if err != nil {
		release()
		return empty, err
	}
	t.s = s
	// The transaction's snapshot is taken by its first statement, here,
	// while no Write can publish: the index rows in memory are those of
	// exactly the writes the snapshot sees.
	t.tx, err = h.db.BeginTx(ctx, nil)
	if err != nil {
		release()
		return empty, err
	}
	defer func() { _ = t.tx.Rollback() }()
	var one int
	err = t.tx.QueryRowContext(ctx, `SELECT count(*) FROM format`).Scan(&one)
	if err == nil && t.top < t.end {
		t.pending, _ = s.idx.snapshot(e.id, new([tracesBuckets][]traceRow))
	}
	release()
	if err != nil {
		return empty, err
	}
	var refs []tref
	more := false
	if t.top > t.start {
		if len(t.reqs) == 0 {
			refs, err = t.newest(ctx)
		} else {
			refs, err = t.matching(ctx)
		}
		if err != nil {
			return empty, err
		}
		if q.Limit > 0 && len(refs) > q.Limit {
			refs, more = refs[:q.Limit], true
		}
	}
	out := store.TraceSelection{Traces: make([]store.TraceRef, len(refs)), More: more}
	for i, r := range refs {
		out.Traces[i] = store.TraceRef{ID: r.k.id(), Last: time.Unix(0, r.last).UTC()}
	}
	if q.Count {
		err := t.tx.QueryRowContext(ctx, t.countSQL(), t.start, t.end).Scan(&out.Total)
		if err != nil {
			return empty, err
		}
	}
	return out, nil
}

// newTraceSel prepares a query of environment e: its bounds and its
// requirements compiled.
func newTraceSel(e *envReg, q store.TraceQuery) (*traceSel, error) {
	t := &traceSel{e: e, q: q, start: q.Start.UnixNano(), end: q.End.UnixNano()}
	t.top = t.end
	if q.After != nil {
		a := tref{k: splitTrace(q.After.ID), last: q.After.Last.UnixNano()}
		t.after = &a
		if a.last < t.end-1 {
			t.top = a.last + 1
		}
	}
	for i, r := range q.Require {
		x, err := t.compile(r)
		if err != nil {
			return nil, fmt.Errorf("requirement %d: %w", i, err)
		}
		t.reqs = append(t.reqs, x)
	}
	return t, nil
}

// countSQL counts the traces with an event in [start, end).
func (t *traceSel) countSQL() string {
	return `SELECT count(*) FROM (SELECT DISTINCT trace_hi, trace_lo FROM ` + t.e.eventsTable() +
		` WHERE ts >= ? AND ts < ? AND ` + notZero + `)`
}

// idList is the relation of the trace ids given as two list parameters.
const idList = `(SELECT unnest(?::BIGINT[]) AS h, unnest(?::BIGINT[]) AS l) AS ids ON trace_hi = ids.h AND trace_lo = ids.l`

// compile turns a requirement into a boolean SQL expression over one
// event row.
func (t *traceSel) compile(r store.SpanMatch) (sqlExpr, error) {
	var ors []string
	var args []any
	if len(r.Any) > 0 {
		x, a, err := dialect.Where(r.Any, store.Or, resolver(t.e))
		if err != nil {
			return sqlExpr{}, err
		}
		ors, args = append(ors, x), a
	}
	if len(r.Sources) > 0 {
		var srcs []string
		for _, src := range r.Sources {
			srcs = append(srcs, strconv.Itoa(int(src)))
		}
		ors = append(ors, "source NOT IN ("+strings.Join(srcs, ", ")+")")
	}
	switch len(ors) {
	case 0:
		return sqlExpr{sql: "FALSE"}, nil
	case 1:
		return sqlExpr{sql: ors[0], args: args}, nil
	}
	return sqlExpr{sql: "(" + strings.Join(ors, " OR ") + ")", args: args}, nil
}

// need is how many traces an answer needs to know (one past Limit tells
// whether more follow); 0 for all.
func (t *traceSel) need() int {
	if t.q.Limit == 0 {
		return 0
	}
	return t.q.Limit + 1
}

// passes reports whether r comes after the query's After.
func (t *traceSel) passes(r tref) bool {
	return t.after == nil || compareRefs(*t.after, r) < 0
}

// sliceSQL groups the traces of the events in [lo, hi) with their newest
// event: one row per trace.
func (t *traceSel) sliceSQL() string {
	return `SELECT trace_hi, trace_lo, max(ts) FROM ` + t.e.eventsTable() +
		` WHERE ts >= ? AND ts < ? AND ` + notZero + ` GROUP BY trace_hi, trace_lo`
}

// newest answers a query without requirements: slices of the range from
// its top down, until enough traces are known.
func (t *traceSel) newest(ctx context.Context) ([]tref, error) {
	need := t.need()
	width := t.top - t.start
	if need > 0 {
		width = max(width/64, 1)
	}
	seen := map[traceKey]bool{}
	var out []tref
	for hi := t.top; hi > t.start; {
		lo := max(t.start, hi-width)
		if lo < t.start+width/2 {
			lo = t.start // no sliver of a slice left at the bottom
		}
		var fresh []tref
		err := t.each(ctx, t.sliceSQL(), []any{lo, hi}, func(rows *sql.Rows) error {
			var r tref
			if err := rows.Scan(&r.k.hi, &r.k.lo, &r.last); err != nil {
				return err
			}
			if !seen[r.k] {
				seen[r.k] = true
				fresh = append(fresh, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		fresh, err = t.keep(ctx, fresh)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(fresh, compareRefs)
		out = append(out, fresh...)
		if need > 0 && len(out) >= need {
			break
		}
		hi = lo
		width *= 2
	}
	return out, nil
}

// matchSQL finds the traces with events in [start, top) meeting every
// requirement, each with the time of its newest matching event.
func (t *traceSel) matchSQL() (string, []any) {
	var ors, having []string
	var args, hargs []any
	for _, r := range t.reqs {
		ors = append(ors, r.sql)
		args = append(args, r.args...)
		having = append(having, "bool_or("+r.sql+")")
		hargs = append(hargs, r.args...)
	}
	where := ors[0]
	if len(ors) > 1 {
		where = "(" + strings.Join(ors, " OR ") + ")"
	}
	q := `SELECT trace_hi, trace_lo, max(ts) FROM ` + t.e.eventsTable() + ` WHERE ts >= ? AND ts < ? AND ` + notZero +
		` AND ` + where + ` GROUP BY trace_hi, trace_lo`
	all := append([]any{t.start, t.top}, args...)
	if len(t.reqs) > 1 {
		q += ` HAVING ` + strings.Join(having, " AND ")
		all = append(all, hargs...)
	}
	return q, all
}

// lastSQL finds the newest event in [lo, top) of each trace of a list
// (two parallel lists of trace_hi and trace_lo).
func (t *traceSel) lastSQL() string {
	return `SELECT trace_hi, trace_lo, max(ts) FROM ` + t.e.eventsTable() + ` SEMI JOIN ` + idList +
		` WHERE ts >= ? AND ts < ? GROUP BY trace_hi, trace_lo`
}

// matching answers a query with requirements.
func (t *traceSel) matching(ctx context.Context) ([]tref, error) {
	q, args := t.matchSQL()
	matched := map[traceKey]int64{} // trace → its newest matching event
	err := t.each(ctx, q, args, func(rows *sql.Rows) error {
		var r tref
		if err := rows.Scan(&r.k.hi, &r.k.lo, &r.last); err != nil {
			return err
		}
		// A trace whose newest event is at least its newest matching one
		// cannot come after an After with that same time and a smaller id.
		if t.after == nil || r.last < t.after.last || tkeyCompare(r.k, t.after.k) < 0 {
			matched[r.k] = r.last
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	need := t.need()
	for {
		if len(matched) == 0 {
			return nil, nil
		}
		ms := make([]int64, 0, len(matched))
		for _, m := range matched {
			ms = append(ms, m)
		}
		slices.Sort(ms)
		mu := ms[0]
		complete := true // every matched trace is in the slice read
		if need > 0 && len(ms) > need {
			mu, complete = ms[len(ms)-need], false
		}
		var found []tref
		collect := func(rows *sql.Rows) error {
			var r tref
			if err := rows.Scan(&r.k.hi, &r.k.lo, &r.last); err != nil {
				return err
			}
			if _, ok := matched[r.k]; ok {
				found = append(found, r)
			}
			return nil
		}
		if len(matched) <= restrictMax {
			his, los := make([]int64, 0, len(matched)), make([]int64, 0, len(matched))
			for k := range matched {
				his, los = append(his, k.hi), append(los, k.lo)
			}
			err = t.each(ctx, t.lastSQL(), []any{his, los, mu, t.top}, collect)
		} else {
			err = t.each(ctx, t.sliceSQL(), []any{mu, t.top}, collect)
		}
		if err != nil {
			return nil, err
		}
		kept, err := t.keep(ctx, found)
		if err != nil {
			return nil, err
		}
		if len(kept) < len(found) {
			// Traces with a newer event than After's: never in the answer.
			ok := map[traceKey]bool{}
			for _, r := range kept {
				ok[r.k] = true
			}
			for _, r := range found {
				if !ok[r.k] {
					delete(matched, r.k)
				}
			}
		}
		slices.SortFunc(kept, compareRefs)
		if complete || len(kept) >= need {
			return kept, nil
		}
		// Dropped traces left fewer than needed above μ: go deeper.
	}
}

// keep drops the refs that After excludes: those ordered before it, and
// those with an event at or past top (their newest event in range is
// newer than After's).
func (t *traceSel) keep(ctx context.Context, refs []tref) ([]tref, error) {
	if t.after == nil {
		return refs, nil
	}
	out := refs[:0:0]
	for _, r := range refs {
		if t.passes(r) {
			out = append(out, r)
		}
	}
	if t.top >= t.end || len(out) == 0 {
		return out, nil
	}
	newer, err := t.newerThanTop(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(newer) == 0 {
		return out, nil
	}
	kept := out[:0]
	for _, r := range out {
		if !newer[r.k] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// newerThanTop returns which of refs have an event in [top, end). The
// trace index bounds each trace's events in time; only the traces whose
// bound reaches top have their events in [top, that bound] read.
func (t *traceSel) newerThanTop(ctx context.Context, refs []tref) (map[traceKey]bool, error) {
	ext, err := t.extents(ctx, refs)
	if err != nil {
		return nil, err
	}
	var his, los []int64
	var upto int64
	for _, r := range refs {
		x, ok := ext[r.k]
		if !ok {
			x = t.end - 1 // not indexed (never expected): read it all
		}
		if x >= t.top {
			his, los = append(his, r.k.hi), append(los, r.k.lo)
			upto = max(upto, x)
		}
	}
	if len(his) == 0 {
		return nil, nil
	}
	newer := map[traceKey]bool{}
	err = t.each(ctx, t.newerSQL(), []any{his, los, t.top, min(t.end, upto+1)}, func(rows *sql.Rows) error {
		var k traceKey
		if err := rows.Scan(&k.hi, &k.lo); err != nil {
			return err
		}
		newer[k] = true
		return nil
	})
	return newer, err
}

// newerSQL finds which traces of a list have an event in [?, ?).
func (t *traceSel) newerSQL() string {
	return `SELECT DISTINCT trace_hi, trace_lo FROM ` + t.e.eventsTable() + ` SEMI JOIN ` + idList + ` WHERE ts >= ? AND ts < ?`
}

// extentsSQL reads the latest max_ts of the trace index rows of each of
// refs, bucket by bucket.
func (t *traceSel) extentsSQL(refs []tref) (string, []any) {
	var his, los [tracesBuckets][]int64
	for _, r := range refs {
		b := traceBucket(r.k)
		his[b], los[b] = append(his[b], r.k.hi), append(los[b], r.k.lo)
	}
	var parts []string
	var args []any
	for b := range tracesBuckets {
		if len(his[b]) == 0 {
			continue
		}
		parts = append(parts, `SELECT trace_hi, trace_lo, max(max_ts) FROM `+t.e.tracesTable(b)+` SEMI JOIN `+idList+
			` GROUP BY trace_hi, trace_lo`)
		args = append(args, his[b], los[b])
	}
	return strings.Join(parts, " UNION ALL "), args
}

// extents returns, for each trace of refs, the latest max_ts of its
// trace index rows (tables and memory): no event of the trace is later.
func (t *traceSel) extents(ctx context.Context, refs []tref) (map[traceKey]int64, error) {
	want := make(map[traceKey]bool, len(refs))
	for _, r := range refs {
		want[r.k] = true
	}
	q, args := t.extentsSQL(refs)
	out := map[traceKey]int64{}
	err := t.each(ctx, q, args, func(rows *sql.Rows) error {
		var k traceKey
		var x int64
		if err := rows.Scan(&k.hi, &k.lo, &x); err != nil {
			return err
		}
		out[k] = max(out[k], x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.pending != nil {
		for b := range t.pending {
			for _, r := range t.pending[b] {
				if want[r.tk] {
					if x, ok := out[r.tk]; !ok || r.hi > x {
						out[r.tk] = r.hi
					}
				}
			}
		}
	}
	return out, nil
}

// each runs a statement of the transaction and calls fn for every row.
func (t *traceSel) each(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
