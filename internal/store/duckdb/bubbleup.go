package duckdb

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

// bubbleUpChunk is the number of columns counted by one statement
// (GROUPING_ID is a BIGINT: one bit per column).
const bubbleUpChunk = 32

// BubbleUpCounts is BubbleUp's single-pass count (query.BubbleUpCounter,
// an optional addition to store.Aggregator): over the events of q (time
// range, datasets, filters and combination, weighted by sample rate unless
// q.UsageMode; q may not have calculated fields), for each column of cols,
// the events per value: all of them and those in the selection (every
// filter of sel passes and the event time is in [selStart, selEnd), a zero
// bound being open). A column with an entry in buckets (lo, width) is
// counted per bucket, floor((x - lo) / width) * width of its numeric
// values (null without one). Each column's rows hold Group [value] and
// Values [selection, all], at most limit of them: those with the most
// selected events, then the most events.
//
// One statement counts up to 32 columns with GROUPING SETS: the events
// are read and the selection evaluated once, instead of once per column
// as one aggregate query per column would (BenchmarkBubbleUp in
// internal/query: several times faster at 10M spans).
func (s *Store) BubbleUpCounts(ctx context.Context, env string, q store.AggregateQuery, sel []store.Filter, selStart, selEnd time.Time,
	cols []string, buckets map[string][2]float64, limit int) ([][]store.Row, error) {
	out := make([][]store.Row, len(cols))
	if len(cols) == 0 {
		return out, nil
	}
	if len(q.CalculatedFields) > 0 {
		return nil, errors.New("duckdb store: BubbleUpCounts takes no calculated fields")
	}
	if limit <= 0 {
		limit = 1000
	}
	h, ctx, done, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	reg, release := s.snapshot()
	e := reg.envs[env]
	release()
	if e == nil {
		return out, nil
	}
	resolve := resolver(e)

	// The events of q.
	var where strings.Builder
	var whereArgs []any
	where.WriteString(`"ts" >= ? AND "ts" < ?`)
	whereArgs = append(whereArgs, q.Start.UnixNano(), q.End.UnixNano())
	if len(q.Datasets) > 0 {
		scope, ok := e.datasetScope(q.Datasets)
		if !ok {
			return out, nil
		}
		where.WriteString(" AND " + scope)
	}
	fsql, fargs, err := dialect.Where(q.Filters, q.Combination, resolve)
	if err != nil {
		return nil, fmt.Errorf("duckdb store: %w", err)
	}
	where.WriteString(" AND " + fsql)
	whereArgs = append(whereArgs, fargs...)

	// The selection.
	ssql, sargs, err := dialect.Where(sel, store.And, resolve)
	if err != nil {
		return nil, fmt.Errorf("duckdb store: selection: %w", err)
	}
	if !selStart.IsZero() {
		ssql += ` AND "ts" >= ?`
		sargs = append(sargs, selStart.UnixNano())
	}
	if !selEnd.IsZero() {
		ssql += ` AND "ts" < ?`
		sargs = append(sargs, selEnd.UnixNano())
	}
	// The weights are summed as doubles: a sum of BIGINTs is a HUGEINT
	// in DuckDB, several times slower to add.
	weight := "CAST(1 AS DOUBLE)"
	if !q.UsageMode {
		weight = `CAST(CASE WHEN "sample_rate" IS NULL OR "sample_rate" < 1 THEN 1 ELSE "sample_rate" END AS DOUBLE)`
	}

	budget := s.cfg.MaxResultBytes
	for lo := 0; lo < len(cols); lo += bubbleUpChunk {
		chunk := cols[lo:min(lo+bubbleUpChunk, len(cols))]
		var b strings.Builder
		var args []any
		b.WriteString("WITH s_ AS (SELECT ")
		names := make([]string, len(chunk))
		for i, c := range chunk {
			names[i] = "g" + strconv.Itoa(i)
			x, xargs := bubbleColumnExpr(resolve(c), buckets, c)
			b.WriteString(x + " AS " + names[i] + ", ")
			args = append(args, xargs...)
		}
		b.WriteString(weight + " AS w_, COALESCE(" + ssql + ", FALSE) AS sel_ FROM " + e.eventsTable() + " WHERE " + where.String() + ")")
		args = append(args, sargs...)
		args = append(args, whereArgs...)
		gl := strings.Join(names, ", ")
		b.WriteString(" SELECT * FROM (SELECT GROUPING_ID(" + gl + ") AS gid_, " + gl +
			", CAST(COALESCE(sum(w_) FILTER (WHERE sel_), 0) AS DOUBLE) AS c0, CAST(sum(w_) AS DOUBLE) AS c1 FROM s_ GROUP BY GROUPING SETS ((" +
			strings.Join(names, "), (") + "))) AS q_ QUALIFY row_number() OVER (PARTITION BY gid_ ORDER BY c0 DESC, c1 DESC) <= " + strconv.Itoa(limit))
		rows, err := queryRows(ctx, h.db, b.String(), args, &budget)
		if err != nil {
			s.readFailed(err)
			return nil, fmt.Errorf("duckdb store: %w", queryTooLarge(err))
		}
		n := len(chunk)
		all := uint64(1)<<n - 1
		for _, r := range rows {
			if len(r) != n+3 {
				return nil, fmt.Errorf("duckdb store: bubbleup row of %d values, want %d", len(r), n+3)
			}
			gid, ok := r[0].(int64)
			if !ok {
				return nil, fmt.Errorf("duckdb store: bubbleup grouping id %T", r[0])
			}
			grouped := ^uint64(gid) & all
			if bits.OnesCount64(grouped) != 1 {
				continue
			}
			i := n - 1 - bits.TrailingZeros64(grouped)
			c0, ok0 := r[n+1].(float64)
			c1, ok1 := r[n+2].(float64)
			if !ok0 || !ok1 {
				return nil, fmt.Errorf("duckdb store: bubbleup counts of types %T and %T", r[n+1], r[n+2])
			}
			out[lo+i] = append(out[lo+i], store.Row{Group: []any{groupValue(r[1+i])}, Values: []store.CalcValue{{Num: c0}, {Num: c1}}})
		}
	}
	return out, nil
}

// bubbleColumnExpr is the SQL of a column's values: its expressions
// coalesced (as text when their types differ), or the bucket offset of its
// numeric values when it has a bucket.
func bubbleColumnExpr(exprs []sqlgen.Column, buckets map[string][2]float64, name string) (string, []any) {
	if bk, ok := buckets[name]; ok {
		var parts []string
		var args []any
		for _, c := range exprs {
			if c.Kind == model.KindInt || c.Kind == model.KindFloat {
				parts = append(parts, "CAST("+c.Expr+" AS DOUBLE)")
				args = append(args, c.Args...)
			}
		}
		if len(parts) == 0 {
			return "CAST(NULL AS DOUBLE)", nil
		}
		x := parts[0]
		if len(parts) > 1 {
			x = "COALESCE(" + strings.Join(parts, ", ") + ")"
		}
		args = append(args, bk[0], bk[1], bk[1])
		return "(floor((" + x + " - ?) / ?) * ?)", args
	}
	switch len(exprs) {
	case 0:
		return "CAST(NULL AS VARCHAR)", nil
	case 1:
		return exprs[0].Expr, exprs[0].Args
	}
	same := true
	for _, c := range exprs[1:] {
		same = same && c.Kind == exprs[0].Kind
	}
	var parts []string
	var args []any
	for _, c := range exprs {
		if same {
			parts = append(parts, c.Expr)
		} else {
			parts = append(parts, "CAST("+c.Expr+" AS VARCHAR)")
		}
		args = append(args, c.Args...)
	}
	return "COALESCE(" + strings.Join(parts, ", ") + ")", args
}

// groupValue normalizes a scanned group value to the types of
// store.Row.Group.
func groupValue(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return v
}
