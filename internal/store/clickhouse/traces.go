package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// SelectTraces answers which traces have events in [q.Start, q.End)
// meeting q.Require, with one statement reading only ts, trace_id and the
// filtered columns: the range's rows grouped by trace, each requirement a
// max() over its condition in HAVING, ordered by newest event and id.
func (s *Store) SelectTraces(ctx context.Context, env string, q store.TraceQuery) (store.TraceSelection, error) {
	if s.closed.Load() {
		return store.TraceSelection{}, ErrClosed
	}
	if q.Start.IsZero() || q.End.IsZero() {
		return store.TraceSelection{}, errors.New("clickhouse store: select traces: a start and an end are required")
	}
	out := store.TraceSelection{Traces: []store.TraceRef{}}
	if !q.End.After(q.Start) {
		return out, nil
	}
	s.cmu.RLock()
	e := s.cat.env(env)
	if e == nil {
		s.cmu.RUnlock()
		return out, nil
	}
	var where strings.Builder
	args := []any{env, q.Start.UnixNano(), q.End.UnixNano()}
	where.WriteString("env = ? AND ts >= ? AND ts < ? AND trace_id != " + zeroTrace)
	vis, vargs := s.visible(e)
	s.cmu.RUnlock()
	where.WriteString(vis)
	args = append(args, vargs...)
	var having []string
	var hargs []any
	never := false
	for i, m := range q.Require {
		var terms []string
		for _, f := range m.Any {
			w, fa, err := s.dialect.Where([]store.Filter{f}, store.And, s.resolver(e))
			if err != nil {
				return store.TraceSelection{}, wrap(fmt.Sprintf("select traces: requirement %d", i), err)
			}
			terms = append(terms, w)
			hargs = append(hargs, fa...)
		}
		if len(m.Sources) > 0 {
			var src []string
			for _, so := range m.Sources {
				src = append(src, strconv.Itoa(int(so)))
			}
			terms = append(terms, "source NOT IN ("+strings.Join(src, ", ")+")")
		}
		if len(terms) == 0 {
			never = true
			break
		}
		having = append(having, "max("+strings.Join(terms, " OR ")+") = 1")
	}
	if never {
		// A requirement no event can meet: no trace, but Count counts.
		n, err := s.countTraces(ctx, q, where.String(), args)
		out.Total = n
		return out, err
	}
	var sb strings.Builder
	sb.WriteString("SELECT trace_id, max(ts) AS last FROM events WHERE ")
	sb.WriteString(where.String())
	sb.WriteString(" GROUP BY trace_id")
	allArgs := append([]any(nil), args...)
	if q.After != nil {
		having = append(having, "(last < ? OR (last = ? AND trace_id < ?))")
	}
	if len(having) > 0 {
		sb.WriteString(" HAVING " + strings.Join(having, " AND "))
		allArgs = append(allArgs, hargs...)
		if q.After != nil {
			at := q.After.Last.UnixNano()
			allArgs = append(allArgs, at, at, string(q.After.ID[:]))
		}
	}
	sb.WriteString(" ORDER BY last DESC, trace_id DESC")
	if q.Limit > 0 {
		sb.WriteString(" LIMIT " + strconv.Itoa(q.Limit+1))
	}
	rows, err := s.c.rows(ctx, sb.String(), allArgs...)
	if err != nil {
		return store.TraceSelection{}, wrap("select traces", err)
	}
	for _, r := range rows {
		var ref store.TraceRef
		copy(ref.ID[:], r[0].(string))
		ref.Last = time.Unix(0, r[1].(int64)).UTC()
		out.Traces = append(out.Traces, ref)
	}
	if q.Limit > 0 && len(out.Traces) > q.Limit {
		out.Traces = out.Traces[:q.Limit:q.Limit]
		out.More = true
	}
	if q.Count {
		n, err := s.countTraces(ctx, q, where.String(), args)
		if err != nil {
			return store.TraceSelection{}, err
		}
		out.Total = n
	}
	return out, nil
}

func (s *Store) countTraces(ctx context.Context, q store.TraceQuery, where string, args []any) (int, error) {
	if !q.Count {
		return 0, nil
	}
	rows, err := s.c.rows(ctx, "SELECT uniqExact(trace_id) FROM events WHERE "+where, args...)
	if err != nil {
		return 0, wrap("count traces", err)
	}
	n, _ := rows[0][0].(int64)
	return int(n), nil
}
