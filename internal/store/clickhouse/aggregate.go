package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

// Aggregate runs a Honeycomb-style aggregate query over the environment's
// rows of events; sqlgen compiles it for ClickHouse.
func (s *Store) Aggregate(ctx context.Context, env string, q store.AggregateQuery) (store.AggregateResult, error) {
	empty := store.AggregateResult{Rows: []store.Row{}, Series: []store.SeriesPoint{}}
	if s.closed.Load() {
		return empty, ErrClosed
	}
	s.cmu.RLock()
	e := s.cat.env(env)
	if e == nil {
		s.cmu.RUnlock()
		return empty, nil
	}
	scope := "env = ?"
	args := []any{env}
	if len(q.Datasets) > 0 {
		var ids []string
		for _, name := range q.Datasets {
			if d := e.findDataset(name); d != nil {
				ids = append(ids, strconv.Itoa(int(d.id)))
			}
		}
		if len(ids) == 0 {
			s.cmu.RUnlock()
			return empty, nil
		}
		scope += " AND ds IN (" + strings.Join(ids, ", ") + ")"
	}
	vis, vargs := s.visible(e)
	s.cmu.RUnlock()
	table := "events"
	if usesRelational(q) {
		// Relational fields join the table with itself in subqueries the
		// scope does not reach: read a derived table of the environment's
		// visible rows (bound here: the plan repeats the table's text).
		var err error
		table, err = bind("(SELECT * FROM events WHERE env = ?"+vis+")", append([]any{env}, vargs...))
		if err != nil {
			return empty, wrap("aggregate", err)
		}
		scope, args = strings.TrimPrefix(strings.TrimPrefix(scope, "env = ?"), " AND "), nil
	} else {
		scope += vis
		args = append(args, vargs...)
	}
	resolve := s.resolver(e)
	plan, err := s.dialect.PlanAggregate(q, sqlgen.AggSource{
		Table: table, Time: "ts", SampleRate: "sample_rate", Duration: "duration_ms",
		Scope: scope, ScopeArgs: args, Resolve: resolve,
		Trace: &sqlgen.TraceColumns{
			Key:    []string{"trace_id"},
			SpanID: "nullIf(span_id, " + zeroSpan + ")",
			// Joined as e.parent_id: a plain column. A root's zero parent
			// id meets no span (SpanID is NULL for a zero span id).
			ParentID: "parent_id",
			IsRoot:   "(span_id != " + zeroSpan + " AND parent_id = " + zeroSpan + ")",
			Margin:   time.Hour,
		},
	})
	if err != nil {
		return empty, wrap("aggregate", err)
	}
	res, err := plan.Run(ctx, func(ctx context.Context, query string, args []any) ([][]any, error) {
		names, types, rows, err := s.c.table(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for i, n := range names {
			// ClickHouse 18.16 has no boolean type: booleans (attribute
			// values, error, comparisons, EXISTS) are UInt8, which no
			// other group value is (integers are Int64, literals bound
			// typed), so a UInt8 group is a boolean one.
			if !isGroupName(n) || (types[i] != "UInt8" && types[i] != "Nullable(UInt8)") {
				continue
			}
			for _, r := range rows {
				if v, ok := r[i].(int64); ok {
					r[i] = v != 0
				}
			}
		}
		return rows, nil
	})
	if err != nil {
		return empty, wrap("aggregate", err)
	}
	return res, nil
}

// usesRelational reports whether q names a relational field (root.,
// parent., any., none.) anywhere.
func usesRelational(q store.AggregateQuery) bool {
	fields := append([]string(nil), q.Breakdowns...)
	filters := append([]store.Filter(nil), q.Filters...)
	for _, fs := range q.CalcFilters {
		filters = append(filters, fs.Filters...)
	}
	for _, f := range filters {
		fields = append(fields, f.Column)
	}
	for _, c := range q.Calcs {
		fields = append(fields, c.Column)
	}
	for _, f := range fields {
		if sqlgen.IsRelational(f) {
			return true
		}
	}
	return false
}

// isGroupName reports whether an answer's column is a group (g0, g1, …).
func isGroupName(n string) bool {
	if len(n) < 2 || n[0] != 'g' {
		return false
	}
	_, err := strconv.Atoi(n[1:])
	return err == nil
}
