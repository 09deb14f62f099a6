package duckdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

var dialect = sqlgen.DuckDB()

// hotExprs maps the hot Honeycomb fields to SQL over the events table.
// Ids are compared in their Honeycomb text form.
var hotExprs = map[string]sqlgen.Column{
	model.FieldTraceID: {Kind: model.KindString, Expr: `CASE WHEN "trace_hi" = 0 AND "trace_lo" = 0 THEN NULL ` +
		`WHEN "trace_hi" = 0 THEN printf('%016x', "trace_lo") ELSE printf('%016x%016x', "trace_hi", "trace_lo") END`},
	model.FieldSpanID:         {Kind: model.KindString, Expr: `printf('%016x', "span_id")`},
	model.FieldParentID:       {Kind: model.KindString, Expr: `printf('%016x', "parent_id")`},
	model.FieldName:           {Kind: model.KindString, Expr: `"name"`},
	model.FieldServiceName:    {Kind: model.KindString, Expr: `"service_name"`},
	model.FieldDurationMs:     {Kind: model.KindFloat, Expr: `"duration_ms"`},
	model.FieldSpanKind:       {Kind: model.KindString, Expr: `"span_kind"`},
	model.FieldType:           {Kind: model.KindString, Expr: `"span_kind"`},
	model.FieldStatusCode:     {Kind: model.KindInt, Expr: `"status_code"`},
	model.FieldError:          {Kind: model.KindBool, Expr: `"error"`},
	model.FieldAnnotationType: {Kind: model.KindString, Expr: `"annotation_type"`},
}

// Resolver maps Honeycomb field names of an environment to SQL expressions
// over its events table: the hot column, then one typed attribute column
// per type the field was written with, then the overflow maps.
func resolver(e *envReg) sqlgen.Resolver {
	return func(field string) []sqlgen.Column {
		var out []sqlgen.Column
		if h, ok := hotExprs[field]; ok {
			out = append(out, h)
		}
		for _, a := range e.byKey[field] {
			out = append(out, sqlgen.Column{Expr: dialect.Quote(a.name), Kind: a.kind})
		}
		for k := model.KindString; k <= model.KindBool; k++ {
			if id, ok := e.keyIDs[field]; ok && e.overflow[colKey{field, k}] {
				out = append(out, sqlgen.Column{Expr: dialect.Quote(overflowVals[k]) + "[list_position(" + dialect.Quote(overflowKeys[k]) + ", ?)]",
					Args: []any{id}, Kind: k})
			}
		}
		return out
	}
}

// snapshot returns the published registry and holds readers' side of
// pubMu until release, so the caller can start its query consistently.
func (s *Store) snapshot() (*registry, func()) {
	s.pubMu.RLock()
	return s.reg.Load(), s.pubMu.RUnlock
}

func (e *envReg) findDataset(name string) *dsReg {
	if d := e.datasets[lower(name)]; d != nil {
		return d
	}
	for _, d := range e.datasets {
		if d.slug == name {
			return d
		}
	}
	return nil
}

// Datasets lists the environment's datasets ordered by name.
func (s *Store) Datasets(ctx context.Context, env string) ([]store.Dataset, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	reg, release := s.snapshot()
	defer release()
	e := reg.envs[env]
	if e == nil {
		return []store.Dataset{}, nil
	}
	out := make([]store.Dataset, 0, len(e.datasets))
	for _, d := range e.datasets {
		out = append(out, store.Dataset{
			Name: d.name, Slug: d.slug,
			CreatedAt:     time.Unix(0, d.times.created).UTC(),
			LastWrittenAt: time.Unix(0, d.times.last.Load()).UTC(),
			Columns:       d.nkeys,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Columns lists a dataset's columns (or the environment's with dataset "").
// A dataset is found by name (case-insensitively) or by slug.
func (s *Store) Columns(ctx context.Context, env, dataset string) ([]store.Column, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	reg, release := s.snapshot()
	defer release()
	e := reg.envs[env]
	if dataset == "" {
		if e == nil {
			return []store.Column{}, nil
		}
		sets := make([]map[colKey]*colTimes, 0, len(e.datasets))
		for _, d := range e.datasets {
			sets = append(sets, d.cols)
		}
		return columns(sets...), nil
	}
	if e == nil {
		return nil, fmt.Errorf("dataset %q: %w", dataset, store.ErrNotFound)
	}
	d := e.findDataset(dataset)
	if d == nil {
		return nil, fmt.Errorf("dataset %q: %w", dataset, store.ErrNotFound)
	}
	return columns(d.cols), nil
}

// selectList is the column list every read selects, and how to decode it:
// the hot columns, the overflow maps and the attribute columns of the
// given datasets (all of them when dss is nil). Reading fewer columns is
// what makes materialising events cheaper.
func selectList(e *envReg, dss []*dsReg) (string, []*attrCol) {
	attrs := e.attrList
	if dss != nil {
		attrs = nil
		for _, a := range e.attrList {
			k := colKey{a.key, a.kind}
			for _, d := range dss {
				if _, ok := d.cols[k]; ok {
					attrs = append(attrs, a)
					break
				}
			}
		}
	}
	var sb strings.Builder
	for i, c := range hotColumns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(dialect.Quote(c))
	}
	for _, k := range e.overflowKinds() {
		sb.WriteString(", " + overflowKeys[k] + ", " + overflowVals[k])
	}
	for _, a := range attrs {
		sb.WriteString(", " + a.name)
	}
	return sb.String(), attrs
}

// Trace returns a trace's events ordered by time. The traces table gives
// the trace's time range, which lets DuckDB's zone maps on ts skip every
// row group outside it.
func (s *Store) Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	evs, err := s.trace(ctx, env, id)
	if err != nil {
		s.readFailed(err)
	}
	return evs, err
}

func (s *Store) trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	h, ctx, done, err := s.reader(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	reg, release := s.snapshot()
	e := reg.envs[env]
	if e == nil {
		release()
		return []model.Event{}, nil
	}
	tk := splitTrace(id)
	// The index rows still in memory first, then the index table (see
	// traceindex.go for why this order is consistent). min and max of ds
	// instead of the list of datasets: aggregating a list cost ~1.4 ms per
	// lookup at 1M spans.
	pend, inMem := s.idx.lookup(e.id, tk)
	var lo, hi sql.NullInt64
	var dsMin, dsMax sql.NullInt32
	err = scanRow(h.query(ctx, `SELECT min(min_ts), max(max_ts), min(ds), max(ds) FROM `+e.tracesTable(traceBucket(tk))+
		` WHERE trace_hi = ? AND trace_lo = ?`, tk.hi, tk.lo))(&lo, &hi, &dsMin, &dsMax)
	if err != nil {
		release()
		return nil, fmt.Errorf("duckdb store: trace %s: %w", id, queryTooLarge(err))
	}
	if inMem {
		if !lo.Valid {
			lo, hi = sql.NullInt64{Int64: pend.lo, Valid: true}, sql.NullInt64{Int64: pend.hi, Valid: true}
			dsMin, dsMax = sql.NullInt32{Int32: pend.ds, Valid: true}, sql.NullInt32{Int32: pend.ds, Valid: true}
		} else {
			lo.Int64, hi.Int64 = min(lo.Int64, pend.lo), max(hi.Int64, pend.hi)
			dsMin.Int32, dsMax.Int32 = min(dsMin.Int32, pend.ds), max(dsMax.Int32, pend.ds)
		}
	}
	if !lo.Valid {
		release()
		return []model.Event{}, nil
	}
	// Only the trace's dataset's attribute columns when it has one; every
	// column when it has several or one is unknown (ds 0: rows of a write
	// holding the trace in several datasets, or written before format 2).
	var dss []*dsReg
	if d := e.dsByID[dsMin.Int32]; d != nil && dsMin == dsMax {
		dss = []*dsReg{d}
	}
	list, attrs := selectList(e, dss)
	// Ordered here, not by ORDER BY: sorting in DuckDB made the query
	// ~1.6 ms slower at 1M spans.
	rows, err := h.query(ctx, `SELECT rowid, `+list+` FROM `+e.eventsTable()+
		` WHERE ts BETWEEN ? AND ? AND trace_hi = ? AND trace_lo = ?`, lo.Int64, hi.Int64, tk.hi, tk.lo)
	release()
	if err != nil {
		return nil, fmt.Errorf("duckdb store: trace %s: %w", id, queryTooLarge(err))
	}
	defer rows.Close()
	type rowEvent struct {
		rowid int64
		ev    model.Event
	}
	var got []rowEvent
	dec := newDecoder(e, attrs)
	dec.withRowID()
	for rows.Next() {
		ev, err := dec.decode(rows)
		if err != nil {
			return nil, fmt.Errorf("duckdb store: trace %s: %w", id, queryTooLarge(err))
		}
		got = append(got, rowEvent{dec.rowid, ev})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdb store: trace %s: %w", id, queryTooLarge(err))
	}
	sort.Slice(got, func(i, j int) bool {
		if ti, tj := got[i].ev.Time, got[j].ev.Time; !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return got[i].rowid < got[j].rowid
	})
	out := make([]model.Event, len(got))
	for i := range got {
		out[i] = got[i].ev
	}
	return out, nil
}

// scanRow returns a function scanning the first row of rows (a statement
// of one row) into dest and closing rows; err is the statement's error.
func scanRow(rows *sql.Rows, err error) func(dest ...any) error {
	return func(dest ...any) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		return rows.Close()
	}
}

// maxTraceIDTerms is the most trace ids a scan matches term by term.
const maxTraceIDTerms = 8

// scanWhere compiles a scan's conditions; ok is false when the scan can
// match nothing (unknown datasets).
func scanWhere(e *envReg, q store.ScanQuery) (where string, args []any, ok bool, err error) {
	var conds []string
	if !q.Start.IsZero() {
		conds = append(conds, "ts >= ?")
		args = append(args, q.Start.UnixNano())
	}
	if !q.End.IsZero() {
		conds = append(conds, "ts < ?")
		args = append(args, q.End.UnixNano())
	}
	if len(q.Datasets) > 0 {
		var ids []string
		seen := map[int32]bool{}
		for _, name := range q.Datasets {
			if d := e.findDataset(name); d != nil && !seen[d.id] {
				seen[d.id] = true
				ids = append(ids, fmt.Sprint(d.id))
			}
		}
		if len(ids) == 0 {
			return "", nil, false, nil
		}
		conds = append(conds, "ds IN ("+strings.Join(ids, ", ")+")")
	}
	switch n := len(q.TraceIDs); {
	case n > maxTraceIDTerms:
		// A long OR is slow to plan and run (seconds for 10,000 ids);
		// a row IN over two list parameters is a hash semi-join.
		his, los := make([]int64, n), make([]int64, n)
		for i, id := range q.TraceIDs {
			tk := splitTrace(id)
			his[i], los[i] = tk.hi, tk.lo
		}
		conds = append(conds, "(trace_hi, trace_lo) IN (SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]))")
		args = append(args, his, los)
	case n > 0:
		var ors []string
		for _, id := range q.TraceIDs {
			tk := splitTrace(id)
			ors = append(ors, "(trace_hi = ? AND trace_lo = ?)")
			args = append(args, tk.hi, tk.lo)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(q.Filters) > 0 {
		f, fargs, err := dialect.Where(q.Filters, q.Combination, resolver(e))
		if err != nil {
			return "", nil, false, err
		}
		conds = append(conds, f)
		args = append(args, fargs...)
	}
	if len(conds) == 0 {
		return "TRUE", args, true, nil
	}
	return strings.Join(conds, " AND "), args, true, nil
}

// scanDatasets returns the datasets a scan is restricted to, nil for all.
func scanDatasets(e *envReg, q store.ScanQuery) []*dsReg {
	if len(q.Datasets) == 0 {
		return nil
	}
	dss := []*dsReg{}
	for _, name := range q.Datasets {
		if d := e.findDataset(name); d != nil {
			dss = append(dss, d)
		}
	}
	return dss
}

// scanSQL compiles a scan into one query selecting whole rows.
func scanSQL(e *envReg, q store.ScanQuery) (query string, args []any, attrs []*attrCol, ok bool, err error) {
	where, args, ok, err := scanWhere(e, q)
	if !ok || err != nil {
		return "", nil, nil, ok, err
	}
	list, attrs := selectList(e, scanDatasets(e, q))
	query = "SELECT " + list + " FROM " + e.eventsTable() + " WHERE " + where + " ORDER BY ts DESC, rowid DESC"
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return query, args, attrs, true, nil
}

// Scan streams matching events newest first.
func (s *Store) Scan(ctx context.Context, env string, q store.ScanQuery) iter.Seq2[model.Event, error] {
	return func(yield func(model.Event, error) bool) {
		yield = func(yield func(model.Event, error) bool) func(model.Event, error) bool {
			return func(ev model.Event, err error) bool {
				if err != nil {
					s.readFailed(err)
				}
				return yield(ev, err)
			}
		}(yield)
		h, ctx, hdone, err := s.reader(ctx)
		if err != nil {
			yield(model.Event{}, err)
			return
		}
		defer hdone()
		reg, release := s.snapshot()
		e := reg.envs[env]
		if e == nil {
			release()
			return
		}
		var rows *sql.Rows
		var attrs []*attrCol
		done := func() {}
		if q.Limit > 0 {
			var d func()
			rows, attrs, d, err = s.scanTopN(ctx, h.db, e, q, release)
			if d != nil {
				done = d
			}
		} else {
			var query string
			var args []any
			var ok bool
			query, args, attrs, ok, err = scanSQL(e, q)
			if err == nil && ok {
				rows, err = h.db.QueryContext(ctx, query, args...)
			}
			release()
		}
		if err != nil {
			yield(model.Event{}, fmt.Errorf("duckdb store: scan: %w", queryTooLarge(err)))
			return
		}
		if rows == nil {
			return
		}
		defer done()
		defer rows.Close()
		dec := newDecoder(e, attrs)
		for rows.Next() {
			ev, err := dec.decode(rows)
			if err != nil {
				yield(model.Event{}, fmt.Errorf("duckdb store: scan: %w", queryTooLarge(err)))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(model.Event{}, fmt.Errorf("duckdb store: scan: %w", queryTooLarge(err)))
		}
	}
}

// scanTopN runs a limited scan in two steps in one transaction: the row
// ids of the newest matches (reading only the filter columns and ts), then
// those rows whole. Sorting whole wide rows to keep the newest few is what
// made a one-step limited scan slow. It calls release once its snapshot
// is taken.
func (s *Store) scanTopN(ctx context.Context, db *sql.DB, e *envReg, q store.ScanQuery, release func()) (*sql.Rows, []*attrCol, func(), error) {
	where, args, ok, err := scanWhere(e, q)
	if err != nil || !ok {
		release()
		return nil, nil, nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	ids, err := func() ([]string, error) {
		defer release()
		rows, err := tx.QueryContext(ctx, "SELECT rowid FROM "+e.eventsTable()+" WHERE "+where+
			fmt.Sprintf(" ORDER BY ts DESC, rowid DESC LIMIT %d", q.Limit), args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		return ids, rows.Err()
	}()
	if err != nil || len(ids) == 0 {
		_ = tx.Rollback()
		return nil, nil, nil, err
	}
	list, attrs := selectList(e, scanDatasets(e, q))
	rows, err := tx.QueryContext(ctx, "SELECT "+list+" FROM "+e.eventsTable()+" WHERE rowid IN ("+
		strings.Join(ids, ", ")+") ORDER BY ts DESC, rowid DESC")
	if err != nil {
		_ = tx.Rollback()
		return nil, nil, nil, err
	}
	return rows, attrs, func() { _ = rows.Close(); _ = tx.Rollback() }, nil
}

// decoder turns result rows of selectList into events.
type decoder struct {
	env   *envReg
	attrs []*attrCol
	// ovKinds are the value types whose overflow lists are selected.
	ovKinds []int
	vals    []any
	dest    []any
	// rowid is the row's rowid when withRowID made the decoder expect it
	// as the first column.
	rowid int64
}

// withRowID makes the decoder read a leading rowid column into d.rowid.
func (d *decoder) withRowID() {
	d.dest = append([]any{&d.rowid}, d.dest...)
}

func newDecoder(e *envReg, attrs []*attrCol) *decoder {
	kinds := e.overflowKinds()
	n := len(hotColumns) + 2*len(kinds) + len(attrs)
	d := &decoder{env: e, attrs: attrs, ovKinds: kinds, vals: make([]any, n), dest: make([]any, n)}
	for i := range d.vals {
		d.dest[i] = &d.vals[i]
	}
	return d
}

func (d *decoder) decode(rows *sql.Rows) (model.Event, error) {
	clear(d.vals)
	if err := rows.Scan(d.dest...); err != nil {
		return model.Event{}, err
	}
	v := d.vals
	var ev model.Event
	ts, _ := v[0].(int64)
	ev.Time = time.Unix(0, ts).UTC()
	dsID, _ := v[1].(int32)
	if ds := d.env.dsByID[dsID]; ds != nil {
		ev.Dataset = ds.name
	}
	src, _ := v[2].(uint8)
	ev.Source = model.Source(src)
	hi, _ := v[3].(int64)
	lo, _ := v[4].(int64)
	binary.BigEndian.PutUint64(ev.TraceID[:8], uint64(hi))
	binary.BigEndian.PutUint64(ev.TraceID[8:], uint64(lo))
	if x, ok := v[5].(int64); ok {
		binary.BigEndian.PutUint64(ev.SpanID[:], uint64(x))
	}
	if x, ok := v[6].(int64); ok {
		binary.BigEndian.PutUint64(ev.ParentID[:], uint64(x))
	}
	ev.Name, _ = v[7].(string)
	ev.ServiceName, _ = v[8].(string)
	ev.DurationMs, _ = v[9].(float64)
	ev.SpanKind, _ = v[10].(string)
	ev.StatusCode, _ = v[11].(int64)
	ev.Error, _ = v[12].(bool)
	ev.AnnotationType, _ = v[13].(string)
	ev.SampleRate, _ = v[14].(int64)
	if b, ok := v[15].([]byte); ok {
		ev.Doc = b
	}
	base := len(hotColumns)
	attrBase := base + 2*len(d.ovKinds)
	nAttrs := 0
	for i := range d.attrs {
		if v[attrBase+i] != nil {
			nAttrs++
		}
	}
	var ovk, ovv [4][]any
	for i, k := range d.ovKinds {
		keys, _ := v[base+2*i].([]any)
		vals, _ := v[base+2*i+1].([]any)
		if len(keys) == len(vals) {
			ovk[k], ovv[k] = keys, vals
			nAttrs += len(keys)
		}
	}
	if nAttrs > 0 {
		ev.Attrs = make([]model.Attr, 0, nAttrs)
	}
	for i, a := range d.attrs {
		x := v[attrBase+i]
		if x == nil {
			continue
		}
		ev.Attrs = append(ev.Attrs, model.Attr{Key: a.key, Value: toValue(a.kind, x)})
	}
	for k := range ovk {
		for i, x := range ovk[k] {
			id, _ := x.(int32)
			if key, ok := d.env.keyNames[id]; ok && ovv[k][i] != nil {
				ev.Attrs = append(ev.Attrs, model.Attr{Key: key, Value: toValue(model.Kind(k), ovv[k][i])})
			}
		}
	}
	return ev, nil
}

func toValue(k model.Kind, x any) model.Value {
	switch k {
	case model.KindInt:
		i, _ := x.(int64)
		return model.Int(i)
	case model.KindFloat:
		f, _ := x.(float64)
		return model.Float(f)
	case model.KindBool:
		b, _ := x.(bool)
		return model.Bool(b)
	}
	s, _ := x.(string)
	return model.Str(s)
}
