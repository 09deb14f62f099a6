package query

// BubbleUp: what is different about a selection of a query's events.
//
// A selection is a part of a query's events: a time range, optionally a
// value range of one numeric column (a region of a heatmap), optionally a
// group of the query's breakdowns (col = value for each). The baseline is
// every other event of the query (same time range, datasets and filters).
// For each column, BubbleUp compares how the selection's and the
// baseline's events are spread over the column's values and ranks the
// columns by how far apart the two distributions are.
//
// How it runs: a first aggregate query counts the selection and all
// events and reads MIN and MAX of every numeric column over the query (the
// common range of its histograms). Then the values of every column are
// counted, in the selection and overall (the baseline is the difference):
//   - with a store that implements BubbleUpCounter (the DuckDB store), in
//     one pass over the events for all columns, the selection given as
//     filters and a time range;
//   - else (or when the query has calculated fields or filters on
//     relational fields) with one
//     store.AggregateQuery per column on the plain Aggregator contract, so
//     it works on every store: the selection is a calculated field
//     (EVENT_TIMESTAMP and the value range combined with AND) and each
//     query groups by the column with COUNT and COUNT filtered by the
//     selection field (store.AggregateQuery.CalcFilters).
//
// Each environment of BubbleUpRequest.Envs (a door's part of an
// environment, store.DoorEnv) is counted the same way; counts are added.
//
// Rules:
//   - Columns compared: every column of the request (store.Reader.Columns
//     of the datasets), except trace and span ids (trace.trace_id,
//     trace.span_id, trace.parent_id, trace.link.*, any column ending in
//     .trace_id/.span_id/.parent_id), "type" (a copy of span.kind),
//     "timestamp", and the columns the selection is defined on (they
//     differ by construction).
//   - Categorical (strings, booleans, and integers spanning fewer values
//     than HistogramBuckets): share of events per value, in the selection
//     and in the baseline; events without the column count as the value
//     null. The store returns at most BubbleUpMaxGroups values per column (those
//     most frequent in the selection, then in the baseline); the rest is
//     "other". A unique-ish column (ids, timestamps as text) is left out:
//     one with at least 10 values and fewer than three events per value
//     on average (weighted by sample rate), or one with
//     BubbleUpMaxGroups values or more whose listed values hold less than
//     half of the selection's and of the baseline's events.
//   - Numeric (floats, wider integers): HistogramBuckets equal-width
//     buckets over [MIN, MAX] of the column across the whole query, the
//     share of events in each, plus the share without the column.
//   - Score: the total variation distance between the two distributions
//     (half the sum of the absolute differences of the shares, 0…1),
//     computed over the listed values plus "other". Columns are ranked by
//     score, highest first (ties by name); at most MaxValues values per
//     column are returned, those whose shares differ most first.

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// BubbleUp limits and defaults.
const (
	// HistogramBuckets is the number of buckets of a numeric column.
	HistogramBuckets = 20
	// DefaultBubbleUpValues is the number of values returned per column.
	DefaultBubbleUpValues = 10
	// MaxBubbleUpValues bounds BubbleUpRequest.MaxValues.
	MaxBubbleUpValues = 100
	// BubbleUpMaxGroups is the number of values the store returns per
	// column.
	BubbleUpMaxGroups = 1000
	// MaxBubbleUpColumns is the number of columns compared at most.
	MaxBubbleUpColumns = 1000
	// bubbleUpParallel is the number of per-column queries run at once.
	bubbleUpParallel = 4
)

// The calculated fields BubbleUp adds to a query; the names cannot clash
// with a derived column's alias (aliases cannot hold NUL).
const (
	selectionField = "\x00bubbleup.selection"
	bucketField    = "\x00bubbleup.bucket"
)

// Selection is the part of a query's events BubbleUp explains.
type Selection struct {
	// Start and End bound the selection's event times: [Start, End).
	// Zero: the query's.
	Start, End time.Time
	// Column is the numeric column of a heatmap selection; its values
	// in [Min, Max] (inclusive; nil: unbounded) are selected.
	Column   string
	Min, Max *float64
	// Group selects the events of one group of the query's breakdowns.
	Group []GroupValue
}

// GroupValue is one breakdown value of a group; a nil Value selects the
// events without the column.
type GroupValue struct {
	Column string
	Value  any // string, float64, int64, bool or nil
}

// BubbleUpRequest is one BubbleUp run.
type BubbleUpRequest struct {
	// Envs are the store environments to read (store.DoorEnv of each
	// door); their counts are added.
	Envs []string
	// Plan is the query whose events are compared (its time range,
	// datasets, filters and calculated fields; its calculations,
	// breakdowns and orders are not used).
	Plan      Plan
	Dataset   string // a dataset slug, or AllDatasets / "" for the environment
	Selection Selection
	// Columns are the candidate columns (store.Reader.Columns).
	Columns   []store.Column
	MaxValues int // per column; 0 = DefaultBubbleUpValues
}

// BubbleUpResult is what BubbleUp found.
type BubbleUpResult struct {
	// Selection and Baseline are the numbers of events (weighted by
	// their sample rates unless the query's usage mode is set).
	Selection float64          `json:"selection_count"`
	Baseline  float64          `json:"baseline_count"`
	Columns   []BubbleUpColumn `json:"columns"`
}

// BubbleUpColumn is one column's comparison.
type BubbleUpColumn struct {
	Column string  `json:"column"`
	Type   string  `json:"type"`  // "categorical" or "numeric"
	Score  float64 `json:"score"` // total variation distance, 0…1
	// Values of a categorical column, those whose shares differ most
	// first; Other holds the shares of the values not listed.
	Values []BubbleUpValue `json:"values,omitempty"`
	// Buckets of a numeric column, ascending; Missing holds the shares
	// of events without the column.
	Buckets []BubbleUpBucket `json:"buckets,omitempty"`
	Other   *Shares          `json:"other,omitempty"`
	Missing *Shares          `json:"missing,omitempty"`
}

// Shares are the parts of the selection's and the baseline's events that
// have a value, with their counts.
type Shares struct {
	Selection      float64 `json:"selection"`
	Baseline       float64 `json:"baseline"`
	SelectionCount float64 `json:"selection_count"`
	BaselineCount  float64 `json:"baseline_count"`
}

// BubbleUpValue is one value of a categorical column; Value is nil for
// events without the column.
type BubbleUpValue struct {
	Value any `json:"value"`
	Shares
}

// BubbleUpBucket is one bucket of a numeric column: values in
// [Lower, Upper), the last bucket including Upper.
type BubbleUpBucket struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Shares
}

// skippedColumn reports the columns BubbleUp never compares.
func skippedColumn(name string) bool {
	switch name {
	case model.FieldTraceID, model.FieldSpanID, model.FieldParentID, model.FieldType, model.FieldTimestamp:
		return true
	}
	return strings.HasPrefix(name, "trace.link.") ||
		strings.HasSuffix(name, ".trace_id") || strings.HasSuffix(name, ".span_id") || strings.HasSuffix(name, ".parent_id")
}

// bubbleCol is a candidate column: numeric when it has int or float
// values and no string or boolean ones.
type bubbleCol struct {
	name     string
	numeric  bool
	integral bool // every numeric type is int
}

// selectionExpr builds the selection's calculated field: true for the
// selected events. q is the query's time range.
func (s Selection) expr(qStart, qEnd time.Time) (store.Expr, error) {
	var conds []store.Expr
	lit := func(v model.Value) store.Expr { return store.Expr{Lit: &v} }
	col := func(c string) store.Expr { return store.Expr{Column: c} }
	ts := store.Expr{Func: "EVENT_TIMESTAMP"}
	secs := func(t time.Time) store.Expr { return lit(model.Float(float64(t.UnixNano()) / 1e9)) }
	if !s.Start.IsZero() || !s.End.IsZero() {
		start, end := s.Start, s.End
		if start.IsZero() {
			start = qStart
		}
		if end.IsZero() {
			end = qEnd
		}
		if !start.Before(end) {
			return store.Expr{}, invalid("selection.end_time", "must be after the start time")
		}
		if !start.Before(qEnd) || !end.After(qStart) {
			return store.Expr{}, invalid("selection", "the selected time range is outside the query's time range")
		}
		if start.After(qStart) {
			conds = append(conds, store.Expr{Func: "GTE", Args: []store.Expr{ts, secs(start)}})
		}
		if end.Before(qEnd) {
			conds = append(conds, store.Expr{Func: "LT", Args: []store.Expr{ts, secs(end)}})
		}
	}
	if s.Column == "" && (s.Min != nil || s.Max != nil) {
		return store.Expr{}, missing("selection.column", "is required with a value range")
	}
	if _, _, rel := store.RelationalField(s.Column); rel {
		return store.Expr{}, invalid("selection.column", "a relational field (root., parent., any., none.) cannot be selected")
	}
	if s.Column != "" {
		if s.Min == nil && s.Max == nil {
			return store.Expr{}, missing("selection.min", "a value range (min, max or both) is required with a column")
		}
		for _, v := range []*float64{s.Min, s.Max} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				return store.Expr{}, invalid("selection.min", "must be a finite number")
			}
		}
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			return store.Expr{}, invalid("selection.max", "must not be below min (%g > %g)", *s.Min, *s.Max)
		}
		if s.Min != nil {
			conds = append(conds, store.Expr{Func: "GTE", Args: []store.Expr{col(s.Column), lit(model.Float(*s.Min))}})
		}
		if s.Max != nil {
			conds = append(conds, store.Expr{Func: "LTE", Args: []store.Expr{col(s.Column), lit(model.Float(*s.Max))}})
		}
	}
	for i, g := range s.Group {
		f := fmt.Sprintf("selection.group[%d]", i)
		if g.Column == "" {
			return store.Expr{}, missing(f+".column", "is required")
		}
		if _, _, rel := store.RelationalField(g.Column); rel {
			return store.Expr{}, invalid(f+".column", "a group of a relational field (root., parent., any., none.) cannot be selected")
		}
		if g.Value == nil {
			conds = append(conds, store.Expr{Func: "NOT", Args: []store.Expr{{Func: "EXISTS", Args: []store.Expr{col(g.Column)}}}})
			continue
		}
		v, ok := scalar(g.Value)
		if !ok {
			return store.Expr{}, invalid(f+".value", "must be a string, number, boolean or null")
		}
		conds = append(conds, store.Expr{Func: "EQUALS", Args: []store.Expr{col(g.Column), lit(v)}})
	}
	switch len(conds) {
	case 0:
		return store.Expr{}, invalid("selection", "selects every event of the query: give a time range narrower than the query's, a value range or a group")
	case 1:
		return conds[0], nil
	}
	return store.Expr{Func: "AND", Args: conds}, nil
}

// BubbleUp compares the selection of req with its baseline, column by
// column. A bad selection is a *Error (422); a selection without events
// too.
func BubbleUp(ctx context.Context, agg store.Aggregator, req BubbleUpRequest) (BubbleUpResult, error) {
	out := BubbleUpResult{Columns: []BubbleUpColumn{}}
	maxValues := req.MaxValues
	if maxValues <= 0 {
		maxValues = DefaultBubbleUpValues
	}
	if maxValues > MaxBubbleUpValues {
		return out, invalid("max_values", "must be between 1 and %d, got %d", MaxBubbleUpValues, maxValues)
	}
	base := req.Plan.Query
	sel, err := req.Selection.expr(base.Start, base.End)
	if err != nil {
		return out, err
	}
	if req.Plan.Empty {
		return out, invalid("selection", "the query's time range is empty")
	}
	base.Calcs, base.Breakdowns, base.Orders, base.Havings = nil, nil, nil, nil
	base.Granularity, base.Limit = 0, 0
	if req.Dataset != "" && req.Dataset != AllDatasets {
		base.Datasets = []string{req.Dataset}
	}
	base.CalculatedFields = append(slices.Clone(base.CalculatedFields), store.CalculatedField{Name: selectionField, Expr: sel})
	base.CalcFilters = []store.FilterSet{{Filters: []store.Filter{{Column: selectionField, Op: store.OpEq, Value: model.Bool(true)}}}}

	cols := candidates(req)
	// Totals and the range of every numeric column. With the store's
	// single-pass count, the selection's total comes from that count (a
	// column no event has groups every event under null), so this query
	// need not evaluate the selection.
	bc, single := agg.(BubbleUpCounter)
	single = single && len(req.Plan.Query.CalculatedFields) == 0 && !slices.ContainsFunc(req.Plan.Query.Filters, func(f store.Filter) bool {
		_, _, rel := store.RelationalField(f.Column)
		return rel // the query's own plan joins the trace's other spans
	})
	tq := base
	tq.Calcs = []store.Calc{{Op: store.CalcCount, Filter: 1}, {Op: store.CalcCount}}
	if single {
		tq.Calcs[0] = store.Calc{Op: store.CalcCount}
		tq.CalculatedFields, tq.CalcFilters = nil, nil
	}
	for _, c := range cols {
		if c.numeric {
			tq.Calcs = append(tq.Calcs, store.Calc{Op: store.CalcMin, Column: c.name}, store.Calc{Op: store.CalcMax, Column: c.name})
		}
	}
	var selN, allN float64
	lo, hi := map[string]float64{}, map[string]float64{}
	for _, env := range req.Envs {
		res, err := agg.Aggregate(ctx, env, tq)
		if err != nil {
			return out, err
		}
		if len(res.Rows) == 0 {
			continue
		}
		v := res.Rows[0].Values
		selN += v[0].Num
		allN += v[1].Num
		i := 2
		for _, c := range cols {
			if !c.numeric {
				continue
			}
			if mn := v[i]; !mn.Null {
				if old, ok := lo[c.name]; !ok || mn.Num < old {
					lo[c.name] = mn.Num
				}
			}
			if mx := v[i+1]; !mx.Null {
				if old, ok := hi[c.name]; !ok || mx.Num > old {
					hi[c.name] = mx.Num
				}
			}
			i += 2
		}
	}
	if !single && selN <= 0 {
		return out, invalid("selection", "the selection holds no events of the query")
	}

	// How each column is compared: numeric columns with values get a
	// histogram (bucket: its lo and width), narrow integer ones are
	// categorical, those without a numeric value are left out.
	type plan struct {
		col     bubbleCol
		hist    bool
		lo, hi  float64
		skipped bool
	}
	plans := make([]plan, len(cols))
	buckets := map[string][2]float64{}
	for i, c := range cols {
		plans[i].col = c
		if !c.numeric {
			continue
		}
		l, okl := lo[c.name]
		h, okh := hi[c.name]
		switch {
		case !okl || !okh:
			plans[i].skipped = true // no numeric value in the query
		case c.integral && h-l < HistogramBuckets:
		default:
			plans[i].hist, plans[i].lo, plans[i].hi = true, l, h
			buckets[c.name] = [2]float64{l, histWidth(l, h)}
		}
	}
	var names []string
	var live []int
	for i, pl := range plans {
		if !pl.skipped {
			names = append(names, pl.col.name)
			live = append(live, i)
		}
	}
	var rows []columnRows
	if single {
		// The last column, "", is every event under null: the totals.
		rows, err = countOnePass(ctx, bc, req, base, append(names, ""), buckets)
		if err != nil {
			return out, err
		}
		selN = 0
		for _, r := range rows[len(names)].rows {
			selN += r.Values[0].Num
		}
		rows = rows[:len(names)]
	} else {
		rows, err = countColumns(ctx, agg, req, base, sel, names, buckets)
	}
	if err != nil {
		return out, err
	}
	if selN <= 0 {
		return out, invalid("selection", "the selection holds no events of the query")
	}
	out.Selection, out.Baseline = selN, allN-selN
	for k, i := range live {
		pl := plans[i]
		var c *BubbleUpColumn
		if pl.hist {
			c = numericColumn(pl.col.name, pl.lo, pl.hi, rows[k], out)
		} else {
			c = categoricalColumn(pl.col.name, rows[k], out, maxValues)
		}
		if c != nil {
			out.Columns = append(out.Columns, *c)
		}
	}
	slices.SortStableFunc(out.Columns, func(a, b BubbleUpColumn) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
	return out, nil
}

// candidates returns the columns to compare, by the package's rules.
func candidates(req BubbleUpRequest) []bubbleCol {
	own := map[string]bool{req.Selection.Column: true}
	for _, g := range req.Selection.Group {
		own[g.Column] = true
	}
	at := map[string]int{}
	var cols []bubbleCol
	for _, c := range req.Columns {
		if c.KeyName == "" || own[c.KeyName] || skippedColumn(c.KeyName) {
			continue
		}
		num := c.Type == model.KindInt || c.Type == model.KindFloat
		i, ok := at[c.KeyName]
		if !ok {
			if len(cols) >= MaxBubbleUpColumns {
				continue
			}
			at[c.KeyName] = len(cols)
			cols = append(cols, bubbleCol{name: c.KeyName, numeric: num, integral: c.Type == model.KindInt})
			continue
		}
		// A key written with several types: numeric only while every
		// type is.
		cols[i].numeric = cols[i].numeric && num
		cols[i].integral = cols[i].integral && c.Type == model.KindInt
	}
	return cols
}

// groupKey is a comparable key of a breakdown value.
func groupKey(v any) any {
	if f, ok := v.(float64); ok && math.IsNaN(f) {
		return "NaN"
	}
	return v
}

// BubbleUpCounter is an optional interface of a store.Aggregator that
// BubbleUp uses when the store has it (internal/store/duckdb does): in one
// pass over the events of q (time range, datasets, filters, combination and
// usage mode; q has no calculated fields), for each column of cols, the
// events per value — all of them and those in the selection (every filter
// of sel passes and the event time is in [selStart, selEnd), a zero bound
// being open). A column with an entry in buckets (lo, width) is counted per
// bucket offset floor((x - lo) / width) * width of its numeric values
// (null without one). Each column's rows hold Group [value] and Values
// [selection, all], at most limit of them: those with the most selected
// events, then the most events. A column no event has (BubbleUp passes
// "") counts every event under the value null. Without it, BubbleUp runs
// one aggregate query per column.
type BubbleUpCounter interface {
	BubbleUpCounts(ctx context.Context, env string, q store.AggregateQuery, sel []store.Filter, selStart, selEnd time.Time,
		cols []string, buckets map[string][2]float64, limit int) ([][]store.Row, error)
}

// columnRows are a column's rows from every environment and whether one
// of them returned BubbleUpMaxGroups rows (values may be missing).
type columnRows struct {
	rows []store.Row
	full bool
}

func (c *columnRows) add(rows []store.Row) {
	c.rows = append(c.rows, rows...)
	c.full = c.full || len(rows) >= BubbleUpMaxGroups
}

// countOnePass counts the selection's and all events per value of each
// column in every environment with one BubbleUpCounter call each.
func countOnePass(ctx context.Context, bc BubbleUpCounter, req BubbleUpRequest, base store.AggregateQuery, names []string, buckets map[string][2]float64) ([]columnRows, error) {
	out := make([]columnRows, len(names))
	filters, start, end := req.Selection.filters(base.Start, base.End)
	q := base
	q.CalculatedFields, q.CalcFilters = nil, nil
	for _, env := range req.Envs {
		rows, err := bc.BubbleUpCounts(ctx, env, q, filters, start, end, names, buckets, BubbleUpMaxGroups)
		if err != nil {
			return nil, err
		}
		for i := range names {
			if i < len(rows) {
				out[i].add(rows[i])
			}
		}
	}
	return out, nil
}

// countColumns counts the selection's and all events per value of each
// column in every environment with one aggregate query per column.
func countColumns(ctx context.Context, agg store.Aggregator, req BubbleUpRequest, base store.AggregateQuery, sel store.Expr, names []string, buckets map[string][2]float64) ([]columnRows, error) {
	out := make([]columnRows, len(names))
	errs := make([]error, len(names))
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(bubbleUpParallel, len(names)) {
		wg.Go(func() {
			for i := range work {
				q := base
				q.Breakdowns = []string{names[i]}
				if bk, ok := buckets[names[i]]; ok {
					// BUCKET(x - lo, width) is the bucket's offset from
					// lo: floor((x - lo) / width) * width.
					q.CalculatedFields = append(slices.Clone(base.CalculatedFields), store.CalculatedField{Name: bucketField, Expr: store.Expr{Func: "BUCKET", Args: []store.Expr{
						{Func: "SUB", Args: []store.Expr{{Column: names[i]}, {Lit: ptr(model.Float(bk[0]))}}},
						{Lit: ptr(model.Float(bk[1]))},
					}}})
					q.Breakdowns = []string{bucketField}
				}
				selCalc, allCalc := store.Calc{Op: store.CalcCount, Filter: 1}, store.Calc{Op: store.CalcCount}
				q.Calcs = []store.Calc{selCalc, allCalc}
				q.Orders = []store.AggOrder{{Calc: &selCalc, Desc: true}, {Calc: &allCalc, Desc: true}}
				q.Limit = BubbleUpMaxGroups
				for _, env := range req.Envs {
					res, err := agg.Aggregate(ctx, env, q)
					if err != nil {
						errs[i] = fmt.Errorf("bubbleup: column %q: %w", names[i], err)
						break
					}
					mu.Lock()
					out[i].add(res.Rows)
					mu.Unlock()
				}
			}
		})
	}
	for i := range names {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// filters is the selection as filters and a time range for
// BubbleUpCounter, with the bounds the selection expression has (a bound
// at or past the query's is open).
func (s Selection) filters(qStart, qEnd time.Time) ([]store.Filter, time.Time, time.Time) {
	var out []store.Filter
	var start, end time.Time
	if !s.Start.IsZero() && s.Start.After(qStart) {
		start = s.Start
	}
	if !s.End.IsZero() && s.End.Before(qEnd) {
		end = s.End
	}
	if s.Column != "" && s.Min != nil {
		out = append(out, store.Filter{Column: s.Column, Op: store.OpGe, Value: model.Float(*s.Min)})
	}
	if s.Column != "" && s.Max != nil {
		out = append(out, store.Filter{Column: s.Column, Op: store.OpLe, Value: model.Float(*s.Max)})
	}
	for _, g := range s.Group {
		if g.Value == nil {
			out = append(out, store.Filter{Column: g.Column, Op: store.OpNotExists})
			continue
		}
		v, _ := scalar(g.Value) // checked by expr
		out = append(out, store.Filter{Column: g.Column, Op: store.OpEq, Value: v})
	}
	return out, start, end
}

// categoricalColumn compares a column's values; nil for a unique-ish
// column.
func categoricalColumn(col string, cr columnRows, tot BubbleUpResult, maxValues int) *BubbleUpColumn {
	type counts struct {
		v        any
		sel, all float64
	}
	byKey := map[any]*counts{}
	var order []any
	for _, r := range cr.rows {
		if len(r.Group) != 1 || len(r.Values) != 2 {
			continue
		}
		k := groupKey(r.Group[0])
		c, ok := byKey[k]
		if !ok {
			c = &counts{v: finite(r.Group[0])}
			byKey[k] = c
			order = append(order, k)
		}
		c.sel += r.Values[0].Num
		c.all += r.Values[1].Num
	}
	full := cr.full
	out := &BubbleUpColumn{Column: col, Type: "categorical"}
	var listedSel, listedBase float64
	vals := make([]BubbleUpValue, 0, len(order))
	for _, k := range order {
		c := byKey[k]
		sh := shares(c.sel, c.all-c.sel, tot)
		listedSel += sh.SelectionCount
		listedBase += sh.BaselineCount
		vals = append(vals, BubbleUpValue{Value: c.v, Shares: sh})
	}
	other := shares(tot.Selection-listedSel, tot.Baseline-listedBase, tot)
	if full && other.Selection > 0.5 && (tot.Baseline == 0 || other.Baseline > 0.5) {
		return nil // unique-ish: the listed values say little
	}
	var distinct int
	var withValue float64
	for _, k := range order {
		if byKey[k].v != nil {
			distinct++
			withValue += byKey[k].all
		}
	}
	if distinct >= 10 && float64(distinct)*3 > withValue {
		return nil // unique-ish: fewer than three events per value
	}
	score := math.Abs(other.Selection - other.Baseline)
	for _, v := range vals {
		score += math.Abs(v.Selection - v.Baseline)
	}
	out.Score = clamp01(score / 2)
	slices.SortStableFunc(vals, func(a, b BubbleUpValue) int {
		if c := cmp.Compare(math.Abs(b.Selection-b.Baseline), math.Abs(a.Selection-a.Baseline)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Selection, a.Selection); c != 0 {
			return c
		}
		return store.CompareGroupValues(a.Value, b.Value)
	})
	if len(vals) > maxValues {
		for _, v := range vals[maxValues:] {
			other.SelectionCount += v.SelectionCount
			other.BaselineCount += v.BaselineCount
		}
		other = shares(other.SelectionCount, other.BaselineCount, tot)
		vals = vals[:maxValues]
	}
	out.Values = vals
	if other.SelectionCount > 0 || other.BaselineCount > 0 {
		out.Other = &other
	}
	return out
}

// histWidth is the bucket width of a histogram over [lo, hi].
func histWidth(lo, hi float64) float64 {
	w := (hi - lo) / HistogramBuckets
	if !(w > 0) || math.IsInf(w, 0) {
		return 1
	}
	return w
}

// numericColumn compares a column's histograms over [lo, hi] from its
// rows grouped by bucket offset.
func numericColumn(col string, lo, hi float64, cr columnRows, tot BubbleUpResult) *BubbleUpColumn {
	width := histWidth(lo, hi)
	sel := make([]float64, HistogramBuckets)
	all := make([]float64, HistogramBuckets)
	var missSel, missAll float64
	for _, r := range cr.rows {
		if len(r.Group) != 1 || len(r.Values) != 2 {
			continue
		}
		off, ok := asFloat(r.Group[0])
		if !ok {
			missSel += r.Values[0].Num
			missAll += r.Values[1].Num
			continue
		}
		i := min(max(int(math.Round(off/width)), 0), HistogramBuckets-1)
		sel[i] += r.Values[0].Num
		all[i] += r.Values[1].Num
	}
	out := &BubbleUpColumn{Column: col, Type: "numeric", Buckets: make([]BubbleUpBucket, HistogramBuckets)}
	var score float64
	for i := range out.Buckets {
		sh := shares(sel[i], all[i]-sel[i], tot)
		out.Buckets[i] = BubbleUpBucket{Lower: lo + float64(i)*width, Upper: lo + float64(i+1)*width, Shares: sh}
		score += math.Abs(sh.Selection - sh.Baseline)
	}
	out.Buckets[HistogramBuckets-1].Upper = max(hi, out.Buckets[HistogramBuckets-1].Lower)
	if missAll > 0 {
		m := shares(missSel, missAll-missSel, tot)
		out.Missing = &m
		score += math.Abs(m.Selection - m.Baseline)
	}
	out.Score = clamp01(score / 2)
	return out
}

func ptr[T any](v T) *T { return &v }

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case int64:
		return float64(x), true
	}
	return 0, false
}

// shares turns counts into shares of the selection and the baseline.
func shares(sel, baseline float64, tot BubbleUpResult) Shares {
	s := Shares{SelectionCount: max(sel, 0), BaselineCount: max(baseline, 0)}
	if tot.Selection > 0 {
		s.Selection = s.SelectionCount / tot.Selection
	}
	if tot.Baseline > 0 {
		s.Baseline = s.BaselineCount / tot.Baseline
	}
	return s
}

func clamp01(x float64) float64 { return min(max(x, 0), 1) }
