package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

var _ store.Aggregator = (*Store)(nil)

// Aggregate runs a Honeycomb-style aggregate query over the environment's
// events table; sqlgen compiles it for DuckDB.
func (s *Store) Aggregate(ctx context.Context, env string, q store.AggregateQuery) (store.AggregateResult, error) {
	empty := store.AggregateResult{Rows: []store.Row{}, Series: []store.SeriesPoint{}}
	h, ctx, done, err := s.reader(ctx)
	if err != nil {
		return empty, err
	}
	defer done()
	reg, release := s.snapshot()
	e := reg.envs[env]
	release()
	if e == nil {
		return empty, nil
	}
	src := sqlgen.AggSource{
		Table:      e.eventsTable(),
		Time:       `"ts"`,
		SampleRate: `"sample_rate"`,
		Duration:   `"duration_ms"`,
		Resolve:    resolver(e),
		Trace:      traceColumns(),
	}
	if len(q.Datasets) > 0 {
		scope, ok := e.datasetScope(q.Datasets)
		if !ok {
			return empty, nil
		}
		src.Scope = scope
	}
	// A query the search filter serves reads it and the events in one
	// transaction, so both see the same writes.
	var qr querier = h.db
	if _, _, _, ok := searchTriple(e, q); ok && !s.noSearchFilter {
		tx, err := h.db.BeginTx(ctx, nil)
		if err != nil {
			s.readFailed(err)
			return empty, fmt.Errorf("duckdb store: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := s.searchSource(ctx, tx, e, q, &src); err != nil {
			s.readFailed(err)
			return empty, fmt.Errorf("duckdb store: search filter: %w", queryTooLarge(err))
		}
		qr = tx
	}
	budget := s.cfg.MaxResultBytes // for every statement of the query together
	res, err := dialect.Aggregate(ctx, q, src, func(ctx context.Context, query string, args []any) ([][]any, error) {
		return queryRows(ctx, qr, query, args, &budget)
	})
	if err != nil {
		s.readFailed(err)
		return empty, fmt.Errorf("duckdb store: %w", queryTooLarge(err))
	}
	return res, nil
}

// datasetScope is the predicate selecting the events of the named datasets
// (by name in any casing, or slug); ok is false when none exists.
func (e *envReg) datasetScope(names []string) (scope string, ok bool) {
	var ids []string
	seen := map[int32]bool{}
	for _, name := range names {
		if d := e.findDataset(name); d != nil && !seen[d.id] {
			seen[d.id] = true
			ids = append(ids, strconv.Itoa(int(d.id)))
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	return `"ds" IN (` + strings.Join(ids, ", ") + `)`, true
}

// traceColumns is the trace structure relational fields read: a root
// span has a span id and no parent (span events and links have no span id
// of their own). Related spans are looked for an hour around the query's
// range.
func traceColumns() *sqlgen.TraceColumns {
	return &sqlgen.TraceColumns{
		Key:      []string{`"trace_hi"`, `"trace_lo"`},
		SpanID:   `"span_id"`,
		ParentID: `"parent_id"`,
		IsRoot:   `"span_id" IS NOT NULL AND "parent_id" IS NULL`,
		Margin:   time.Hour,
	}
}

// queryRows runs a statement and returns all its rows, taking their
// estimated size from *budget; past it, it fails with
// store.ErrQueryTooLarge.
func queryRows(ctx context.Context, db querier, query string, args []any, budget *int64) ([][]any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if *budget -= rowBytes(vals); *budget < 0 {
			return nil, errResultTooLarge
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

var errResultTooLarge = fmt.Errorf("%w: its answer is larger than the store hands back (MaxResultBytes)", store.ErrQueryTooLarge)

// rowBytes estimates the memory a scanned row holds: a word pair per
// value and the bytes of its strings.
func rowBytes(vals []any) int64 {
	n := int64(24 + 16*len(vals))
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		}
	}
	return n
}
