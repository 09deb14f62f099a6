package clickhouse

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/sqlgen"
)

const (
	zeroTrace = "unhex('00000000000000000000000000000000')"
	zeroSpan  = "unhex('0000000000000000')"
)

// hotExprs maps the hot Honeycomb fields to SQL over events: NULL where
// the event does not have the field. Ids are compared in their Honeycomb
// text form.
var hotExprs = map[string]sqlgen.Column{
	model.FieldTraceID: {Kind: model.KindString, Expr: "if(trace_id = " + zeroTrace + ", NULL, if(substring(trace_id, 1, 8) = " + zeroSpan +
		", lower(hex(substring(trace_id, 9, 8))), lower(hex(trace_id))))"},
	model.FieldSpanID:         {Kind: model.KindString, Expr: "if(span_id = " + zeroSpan + ", NULL, lower(hex(span_id)))"},
	model.FieldParentID:       {Kind: model.KindString, Expr: "if(parent_id = " + zeroSpan + ", NULL, lower(hex(parent_id)))"},
	model.FieldName:           {Kind: model.KindString, Expr: "nullIf(name, '')"},
	model.FieldServiceName:    {Kind: model.KindString, Expr: "nullIf(service_name, '')"},
	model.FieldDurationMs:     {Kind: model.KindFloat, Expr: "duration_ms"},
	model.FieldSpanKind:       {Kind: model.KindString, Expr: "nullIf(span_kind, '')"},
	model.FieldType:           {Kind: model.KindString, Expr: "nullIf(span_kind, '')"},
	model.FieldStatusCode:     {Kind: model.KindInt, Expr: "status_code"},
	model.FieldError:          {Kind: model.KindBool, Expr: "if(error = 1, toUInt8(1), NULL)"},
	model.FieldAnnotationType: {Kind: model.KindString, Expr: "nullIf(annotation_type, '')"},
}

var (
	listKeys = [4]string{"s_k", "i_k", "f_k", "b_k"}
	listVals = [4]string{"s_v", "i_v", "f_v", "b_v"}
)

// resolver maps field names of environment e to SQL over events: the hot
// column, then the typed lists holding the key. It takes cmu (read) for
// each look-up: callers must not hold it.
func (s *Store) resolver(e *envCat) sqlgen.Resolver {
	return func(field string) []sqlgen.Column {
		var out []sqlgen.Column
		if h, ok := hotExprs[field]; ok {
			out = append(out, h)
		}
		if e == nil {
			return out
		}
		s.cmu.RLock()
		kinds := e.kinds[field]
		dels := append([]dsDel(nil), e.byKeyDel[field]...)
		s.cmu.RUnlock()
		if kinds == 0 {
			return out
		}
		excl, eargs := "", []any(nil)
		if len(dels) > 0 {
			var parts []string
			for _, d := range dels {
				parts = append(parts, "(ds = ? AND wseq <= ?)")
				eargs = append(eargs, int64(d.ds), d.wseq)
			}
			excl = " AND NOT (" + strings.Join(parts, " OR ") + ")"
		}
		for k := model.KindString; k <= model.KindBool; k++ {
			if kinds&(1<<k) == 0 {
				continue
			}
			args := append(append([]any{field}, eargs...), field)
			out = append(out, sqlgen.Column{
				Expr: "if(has(" + listKeys[k] + ", ?)" + excl + ", " + listVals[k] + "[indexOf(" + listKeys[k] + ", ?)], NULL)",
				Args: args, Kind: k,
			})
		}
		return out
	}
}

// visible is the condition (" AND …", "" when none is needed) leaving out
// rows no read may see: of deleted datasets, of aborted Writes, and X-Ray
// events replaced by a later form. Callers hold cmu (read).
func (s *Store) visible(e *envCat) (string, []any) {
	var b strings.Builder
	var args []any
	if e != nil && len(e.deleted) > 0 {
		b.WriteString(" AND ds NOT IN (" + placeholders(len(e.deleted)) + ")")
		for _, id := range e.deleted {
			args = append(args, int64(id))
		}
	}
	aborted := func(col string) {
		if len(s.cat.aborted) > 0 {
			b.WriteString(" AND " + col + " NOT IN (" + placeholders(len(s.cat.aborted)) + ")")
			for _, w := range s.cat.aborted {
				args = append(args, w)
			}
		}
	}
	aborted("wseq")
	if e != nil && e.replaced {
		b.WriteString(" AND NOT (source = 1 AND (trace_id, span_id, wseq) IN (SELECT trace_id, span_id, wseq FROM xray_replaced WHERE env = ?")
		args = append(args, e.slug)
		aborted("by_wseq")
		b.WriteString("))")
	}
	return b.String(), args
}

// Datasets lists the environment's datasets ordered by name.
func (s *Store) Datasets(ctx context.Context, env string) ([]store.Dataset, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	out := []store.Dataset{}
	e := s.cat.env(env)
	if e == nil {
		return out, nil
	}
	for _, d := range e.byID {
		out = append(out, store.Dataset{
			Name: d.name, Slug: d.slug,
			CreatedAt:     time.Unix(0, d.times.created).UTC(),
			LastWrittenAt: time.Unix(0, d.times.last).UTC(),
			Columns:       d.nkeys,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Columns lists a dataset's columns, or the environment's with dataset "".
func (s *Store) Columns(ctx context.Context, env, dataset string) ([]store.Column, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	e := s.cat.env(env)
	if dataset == "" {
		if e == nil {
			return []store.Column{}, nil
		}
		var sets []map[colKey]*colTimes
		for _, d := range e.byID {
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

// Trace returns the trace's events in the environment, ordered by time
// (and by the order they were written in): the trace index's time range
// first, then the events in it. One statement with the range as scalar
// subqueries was slower on 18.16 (27 vs 16 ms a trace, mean over 300, at
// 100k spans), so it is two.
func (s *Store) Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	out := []model.Event{}
	s.cmu.RLock()
	e := s.cat.env(env)
	s.cmu.RUnlock()
	if e == nil {
		return out, nil
	}
	rows, err := s.c.rows(ctx, "SELECT count(), minMerge(min_ts), maxMerge(max_ts) FROM traces WHERE env = ? AND trace_id = ?", env, string(id[:]))
	if err != nil {
		return nil, wrap("trace", err)
	}
	if rows[0][0].(int64) == 0 {
		return out, nil
	}
	lo, hi := rows[0][1].(int64), rows[0][2].(int64)
	s.cmu.RLock()
	vis, vargs := s.visible(e)
	dec := s.newDecoder(e)
	s.cmu.RUnlock()
	q := "SELECT " + readColumns + " FROM events WHERE env = ? AND ts >= ? AND ts <= ? AND trace_id = ?" + vis +
		" ORDER BY ts, wseq, ord FORMAT RowBinary"
	for ev, err := range s.readEvents(ctx, dec, q, append([]any{env, lo, hi, string(id[:])}, vargs...)) {
		if err != nil {
			return nil, wrap("trace", err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Scan streams the events matching q, newest first.
func (s *Store) Scan(ctx context.Context, env string, q store.ScanQuery) iter.Seq2[model.Event, error] {
	return func(yield func(model.Event, error) bool) {
		if s.closed.Load() {
			yield(model.Event{}, ErrClosed)
			return
		}
		s.cmu.RLock()
		e := s.cat.env(env)
		if e == nil {
			s.cmu.RUnlock()
			return
		}
		where, args, ok := s.scanWhere(e, q)
		dec := s.newDecoder(e)
		s.cmu.RUnlock()
		var err error
		if ok && len(q.Filters) > 0 {
			var w string
			var fargs []any
			w, fargs, err = s.dialect.Where(q.Filters, q.Combination, s.resolver(e))
			where += " AND " + w
			args = append(args, fargs...)
		}
		if err != nil {
			yield(model.Event{}, wrap("scan", err))
			return
		}
		if !ok {
			return
		}
		sqlText := "SELECT " + readColumns + " FROM events WHERE " + where + " ORDER BY ts DESC, wseq DESC, ord DESC"
		if q.Limit > 0 {
			sqlText += fmt.Sprintf(" LIMIT %d", q.Limit)
		}
		for ev, err := range s.readEvents(ctx, dec, sqlText+" FORMAT RowBinary", args) {
			if err != nil {
				yield(model.Event{}, wrap("scan", err))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// scanWhere compiles a ScanQuery but its filters; ok is false when
// nothing can match (no dataset of the names). Callers hold cmu (read).
func (s *Store) scanWhere(e *envCat, q store.ScanQuery) (where string, args []any, ok bool) {
	var b strings.Builder
	b.WriteString("env = ?")
	args = append(args, e.slug)
	if !q.Start.IsZero() {
		b.WriteString(" AND ts >= ?")
		args = append(args, q.Start.UnixNano())
	}
	if !q.End.IsZero() {
		b.WriteString(" AND ts < ?")
		args = append(args, q.End.UnixNano())
	}
	if len(q.Datasets) > 0 {
		var ids []any
		for _, name := range q.Datasets {
			if d := e.findDataset(name); d != nil {
				ids = append(ids, int64(d.id))
			}
		}
		if len(ids) == 0 {
			return "", nil, false
		}
		b.WriteString(" AND ds IN (" + placeholders(len(ids)) + ")")
		args = append(args, ids...)
	}
	if len(q.TraceIDs) > 0 {
		b.WriteString(" AND trace_id IN (" + placeholders(len(q.TraceIDs)) + ")")
		for _, id := range q.TraceIDs {
			args = append(args, string(id[:]))
		}
	}
	vis, vargs := s.visible(e)
	b.WriteString(vis)
	args = append(args, vargs...)
	return b.String(), args, true
}

// decoder turns RowBinary rows of readColumns into events.
type decoder struct {
	names map[uint32]string // dataset id → name
	dels  map[dsKey]uint64
	s     *Store
	env   *envCat
}

// newDecoder snapshots what decoding needs. Callers hold cmu (read).
func (s *Store) newDecoder(e *envCat) *decoder {
	d := &decoder{names: make(map[uint32]string, len(e.byID)), s: s, env: e}
	for id, ds := range e.byID {
		d.names[id] = ds.name
	}
	if len(e.colDeletes) > 0 {
		d.dels = make(map[dsKey]uint64, len(e.colDeletes))
		for k, v := range e.colDeletes {
			d.dels[k] = v
		}
	}
	return d
}

func (d *decoder) name(id uint32) string {
	if n, ok := d.names[id]; ok {
		return n
	}
	// A dataset created after the snapshot.
	d.s.cmu.RLock()
	defer d.s.cmu.RUnlock()
	if ds := d.env.byID[id]; ds != nil {
		d.names[id] = ds.name
		return ds.name
	}
	return ""
}

// readEvents runs q (FORMAT RowBinary over readColumns) and decodes its
// rows as they arrive.
func (s *Store) readEvents(ctx context.Context, dec *decoder, q string, args []any) iter.Seq2[model.Event, error] {
	return func(yield func(model.Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		body, err := s.c.stream(ctx, q, args...)
		if err != nil {
			yield(model.Event{}, err)
			return
		}
		defer body.Close()
		r := &rbReader{r: bufio.NewReaderSize(body, 64<<10)}
		for {
			if _, err := r.r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					return
				}
				yield(model.Event{}, transportError(ctx, err))
				return
			}
			ev, err := dec.decode(r)
			if err != nil {
				yield(model.Event{}, r.explain(err))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func (d *decoder) decode(r *rbReader) (model.Event, error) {
	var e model.Event
	ts := r.i64()
	e.Time = time.Unix(0, ts).UTC()
	ds := r.u32()
	e.Dataset = d.name(ds)
	e.Source = model.Source(r.u8())
	r.fixed(e.TraceID[:])
	r.fixed(e.SpanID[:])
	r.fixed(e.ParentID[:])
	e.Name = r.str()
	e.ServiceName = r.str()
	e.SpanKind = r.str()
	e.AnnotationType = r.str()
	if r.u8() == 0 {
		e.DurationMs = r.f64()
	}
	if r.u8() == 0 {
		e.StatusCode = r.i64()
	}
	e.Error = r.u8() != 0
	e.SampleRate = r.i64()
	if doc := r.str(); doc != "" {
		e.Doc = []byte(doc)
	}
	_ = r.u8() // in_progress
	wseq := r.u64()
	_ = r.u32() // ord
	for k := model.KindString; k <= model.KindBool; k++ {
		n := r.uvarint()
		if n > 1<<24 || r.err != nil {
			r.fail(fmt.Errorf("list of %d attributes", n))
			break
		}
		// Grown as keys arrive, so a corrupt length cannot allocate
		// more than the answer holds.
		keys := make([]string, 0, min(n, 64))
		for range n {
			keys = append(keys, r.str())
			if r.err != nil {
				break
			}
		}
		if r.err != nil {
			break
		}
		if m := r.uvarint(); m != n {
			r.fail(fmt.Errorf("%d attribute keys, %d values", n, m))
			break
		}
		for i := range keys {
			var v model.Value
			switch k {
			case model.KindString:
				v = model.Str(r.str())
			case model.KindInt:
				v = model.Int(r.i64())
			case model.KindFloat:
				v = model.Float(r.f64())
			case model.KindBool:
				v = model.Bool(r.u8() != 0)
			}
			if d.dels != nil {
				if w, ok := d.dels[dsKey{ds, keys[i]}]; ok && wseq <= w {
					continue
				}
			}
			e.Attrs = append(e.Attrs, model.Attr{Key: keys[i], Value: v})
		}
	}
	return e, r.err
}

// rbReader reads RowBinary values, remembering the first error.
type rbReader struct {
	r   *bufio.Reader
	err error
	buf [8]byte
	// tail keeps what follows a decoding error, for explain.
}

func (r *rbReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *rbReader) read(n int) []byte {
	if r.err != nil {
		return r.buf[:n]
	}
	if _, err := io.ReadFull(r.r, r.buf[:n]); err != nil {
		r.fail(err)
	}
	return r.buf[:n]
}

func (r *rbReader) u8() uint8   { return r.read(1)[0] }
func (r *rbReader) u32() uint32 { return binary.LittleEndian.Uint32(r.read(4)) }
func (r *rbReader) u64() uint64 { return binary.LittleEndian.Uint64(r.read(8)) }
func (r *rbReader) i64() int64  { return int64(r.u64()) }
func (r *rbReader) f64() float64 {
	return math.Float64frombits(r.u64())
}

func (r *rbReader) fixed(dst []byte) {
	if r.err != nil {
		return
	}
	if _, err := io.ReadFull(r.r, dst); err != nil {
		r.fail(err)
	}
}

func (r *rbReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		r.fail(err)
	}
	return n
}

// maxString bounds one string of an answer (a sanity check, well above
// any value the store writes).
const maxString = 1 << 30

func (r *rbReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > maxString {
		r.fail(fmt.Errorf("string of %d bytes", n))
		return ""
	}
	if n <= 64<<10 {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.r, b); err != nil {
			r.fail(err)
			return ""
		}
		return string(b)
	}
	// A long value grows as it arrives.
	var sb strings.Builder
	if _, err := io.CopyN(&sb, r.r, int64(n)); err != nil {
		r.fail(err)
		return ""
	}
	return sb.String()
}

// explain turns a decoding error into ClickHouse's exception when the
// server wrote one into the answer after rows had been sent.
func (r *rbReader) explain(err error) error {
	rest, _ := io.ReadAll(io.LimitReader(r.r, 64<<10))
	if i := strings.Index(string(rest), "Code: "); i >= 0 {
		if e := parseException(rest[i:]); e.Code != 0 {
			return e
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: answer cut short: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("clickhouse: decode answer: %w", err)
}
