package duckdb

import (
	"bytes"
	"cmp"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

func lower(s string) string { return strings.ToLower(s) }

// hotKinds are the hot fields and their types, as Columns reports them.
var hotKinds = map[string]model.Kind{
	model.FieldTraceID:        model.KindString,
	model.FieldSpanID:         model.KindString,
	model.FieldParentID:       model.KindString,
	model.FieldName:           model.KindString,
	model.FieldServiceName:    model.KindString,
	model.FieldDurationMs:     model.KindFloat,
	model.FieldSpanKind:       model.KindString,
	model.FieldType:           model.KindString,
	model.FieldStatusCode:     model.KindInt,
	model.FieldError:          model.KindBool,
	model.FieldAnnotationType: model.KindString,
}

var (
	ckTraceID    = colKey{model.FieldTraceID, model.KindString}
	ckSpanID     = colKey{model.FieldSpanID, model.KindString}
	ckParentID   = colKey{model.FieldParentID, model.KindString}
	ckName       = colKey{model.FieldName, model.KindString}
	ckService    = colKey{model.FieldServiceName, model.KindString}
	ckDuration   = colKey{model.FieldDurationMs, model.KindFloat}
	ckSpanKind   = colKey{model.FieldSpanKind, model.KindString}
	ckType       = colKey{model.FieldType, model.KindString}
	ckStatus     = colKey{model.FieldStatusCode, model.KindInt}
	ckError      = colKey{model.FieldError, model.KindBool}
	ckAnnotation = colKey{model.FieldAnnotationType, model.KindString}
)

type traceKey struct{ hi, lo int64 }

type xrayKey struct {
	trace traceKey
	span  int64
}

// spanInt is a span id as the BIGINT stored for it (two's complement of
// the big-endian bytes).
func spanInt(s model.SpanID) int64 { return int64(binary.BigEndian.Uint64(s[:])) }

func splitTrace(t model.TraceID) traceKey {
	return traceKey{int64(binary.BigEndian.Uint64(t[:8])), int64(binary.BigEndian.Uint64(t[8:]))}
}

// envWrite is the part of a Write for one environment.
type envWrite struct {
	env   *envReg // the Write's own copy
	items []item
	// index is this write's trace index rows; indexFlushed is set when the
	// write's transaction put every pending row in the index tables.
	index        *[tracesBuckets][]traceRow
	indexFlushed bool
	// bloom is this write's search filter row, if it has one.
	bloom *bloomRow
	// slots are the distinct fields of this write; slotOf indexes them.
	slots  []fieldSlot
	slotOf map[colKey]int32
	// lastName and lastDS cache the dataset of the previous event.
	lastName string
	lastDS   *dsReg
	// bytes estimates the bytes the write adds (retention by size).
	bytes int64
}

// item is one event of a write with its dataset and, per attribute, the
// index of its field's slot.
type item struct {
	ev    *model.Event
	ds    *dsReg
	slots []int32
}

// fieldSlot is one field of a write: resolved once per write to its column
// (or overflow key id), so the per-attribute work is a slice index.
type fieldSlot struct {
	k      colKey
	n      int64  // events of this write carrying it
	lastDS *dsReg // the dataset it was last touched in
	col    *attrCol
	keyID  int32 // overflow key id when col is nil
	pos    int   // column position in the Appender's row (appendEvents)
}

// Write stores all batches in one DuckDB transaction. See the package
// comment for what a commit guarantees. Events that would pass a column
// limit are left out and listed in their batch's Refused.
func (s *Store) Write(ctx context.Context, batches []store.Batch) error {
	n := 0
	for i := range batches {
		batches[i].Refused = nil
		n += len(batches[i].Events)
	}
	if n == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.wc == nil {
		return fmt.Errorf("duckdb store: write %d events: %w", n, s.readOnlyErr())
	}
	now := s.cfg.Now().UnixNano()
	s.wgen++
	reg := s.reg.Load().clone()

	// Group events by environment, resolving datasets and fields against
	// the registry copy.
	var writes []*envWrite
	byEnv := map[string]*envWrite{}
	for bi := range batches {
		b := &batches[bi]
		if len(b.Events) == 0 {
			continue
		}
		w := byEnv[b.Env]
		if w == nil {
			w = &envWrite{env: reg.ownEnv(b.Env, true), slotOf: map[colKey]int32{}}
			byEnv[b.Env] = w
			writes = append(writes, w)
		}
		nattrs := 0
		for i := range b.Events {
			nattrs += len(b.Events[i].Attrs)
		}
		flat := make([]int32, 0, nattrs)
		for i := range b.Events {
			e := &b.Events[i]
			d := w.dataset(e.Dataset)
			adds, err := s.admit(w.env, d, e)
			if err != nil {
				b.Refused = append(b.Refused, store.Refusal{Index: i, Err: err})
				continue
			}
			switch {
			case d == nil:
				d = w.env.newDataset(e.Dataset, now)
				w.lastName, w.lastDS = e.Dataset, d
			case adds:
				d = w.env.ownDataset(d)
				w.lastName, w.lastDS = e.Dataset, d
			}
			s.stamp(w.env, d.times, dirtyRef{env: w.env.slug, ds: d.id, dataset: true}, now)
			touchHot(s, w.env, d, e, now)
			start := len(flat)
			w.bytes += 64 + int64(len(e.Name)+len(e.Doc))
			for _, a := range e.Attrs {
				w.bytes += 8 + int64(len(a.Value.Str))
				k := colKey{a.Key, a.Value.Kind}
				si, ok := w.slotOf[k]
				if !ok {
					si = int32(len(w.slots))
					w.slotOf[k] = si
					w.slots = append(w.slots, fieldSlot{k: k})
				}
				sl := &w.slots[si]
				sl.n++
				if sl.lastDS != d {
					sl.lastDS = d
					s.touch(w.env, d, k, now)
				}
				flat = append(flat, si)
			}
			w.items = append(w.items, item{ev: e, ds: d, slots: flat[start:len(flat):len(flat)]})
		}
	}
	// Environments whose every event was refused write nothing.
	kept := writes[:0]
	for _, w := range writes {
		if len(w.items) > 0 {
			kept = append(kept, w)
		} else if w.env.w.isNew {
			delete(reg.envs, w.env.slug)
		}
	}
	writes = kept
	if len(writes) == 0 {
		return nil
	}
	// Count the fields and resolve each to its column or overflow key.
	for _, w := range writes {
		ks := s.keyStats[w.env.slug]
		if ks == nil {
			ks = &keyStats{keys: map[colKey]int64{}}
			s.keyStats[w.env.slug] = ks
		}
		ks.events += int64(len(w.items))
		for i := range w.slots {
			sl := &w.slots[i]
			ks.keys[sl.k] += sl.n
			sl.col = w.env.attr(sl.k, s.cfg.MaxAttributeColumns, ks.dense(sl.k, s.cfg.MinColumnDensity, s.cfg.MinColumnEvents))
			if sl.col == nil {
				sl.keyID = w.env.keyIDs[sl.k.key]
			}
		}
	}

	var durable error // the commit succeeded, its checkpoint failed
	err := s.wc.Raw(func(dc any) error {
		conn, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
			return err
		}
		if err := s.writeTx(ctx, conn, writes, s.wseq+1); err != nil {
			_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
			return errors.Join(err, rerr)
		}
		// Publish the registry under the lock readers take, so a reader
		// starting now sees both the rows and their columns.
		s.pubMu.Lock()
		defer s.pubMu.Unlock()
		if _, err := conn.ExecContext(ctx, "COMMIT", nil); err != nil {
			if isDurableCommit(err) {
				durable = err
				s.published(reg, writes, now)
				return nil
			}
			_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
			return errors.Join(err, rerr)
		}
		s.published(reg, writes, now)
		return nil
	})
	if durable != nil {
		// Committed: the WAL holds it. The checkpoint's failure left the
		// database invalidated; the recovery loop opens it again.
		s.health.mu.Lock()
		s.health.durableFailures++
		s.health.mu.Unlock()
		s.unwritable(durable, true)
		return nil
	}
	if err != nil {
		s.idx.dropFilters()
		return fmt.Errorf("duckdb store: write %d events: %w", n, s.writeFailed(err))
	}
	s.writable()
	return nil
}

// published makes a committed Write's registry the one readers use, moves
// the last-written times it touched and queues their catalog rows for the
// next flush. Callers hold wmu and pubMu.
func (s *Store) published(reg *registry, writes []*envWrite, now int64) {
	var refs []dirtyRef
	for _, w := range writes {
		for _, t := range w.env.w.touched {
			t.last.Store(now)
		}
		refs = append(refs, w.env.w.touchedRef...)
		w.env.w = nil
	}
	s.reg.Store(reg)
	s.wseq++
	for _, w := range writes {
		s.idx.add(w.env.id, w.index, w.indexFlushed)
		if w.bloom != nil {
			s.blooms.add(w.env.id, *w.bloom)
		}
		s.grown(w.env.slug, w.bytes)
	}
	s.markDirty(refs)
}

// dataset returns the environment's dataset named name (any casing), nil
// when it does not exist yet.
func (w *envWrite) dataset(name string) *dsReg {
	if w.lastDS != nil && name == w.lastName {
		return w.lastDS
	}
	d := w.env.datasets[lower(name)]
	if d != nil {
		w.lastName, w.lastDS = name, d
	}
	return d
}

// admit decides whether event e may be stored in dataset d (nil: a new
// dataset) of environment env: refused with store.ErrTooManyColumns when
// its fields new to the dataset would take the dataset past
// Config.MaxDatasetColumns or the environment past Config.MaxEnvColumns
// distinct columns. adds reports whether it brings fields (or types of a
// field) the dataset does not have yet.
func (s *Store) admit(env *envReg, d *dsReg, e *model.Event) (adds bool, err error) {
	have := 0
	if d != nil {
		have = d.nkeys
	}
	// room is how many new columns the dataset and the environment can
	// still take (none when a limit was lowered below what they have):
	// counting stops past it, the event being refused, so an event refused
	// by a full dataset costs a look-up or two, not one per field.
	room := max(min(s.cfg.MaxDatasetColumns-have, s.cfg.MaxEnvColumns-env.ncols), 0)
	var newKeys int
	var seen map[string]struct{}
	isNew := func(k colKey) {
		if newKeys > room {
			return
		}
		if d != nil {
			if _, ok := d.cols[k]; ok {
				return
			}
		}
		adds = true
		if d != nil && d.hasKey(k.key) {
			return // a new type of a known field: not a new column
		}
		if seen == nil {
			seen = s.seenSet(len(e.Attrs))
		}
		if _, ok := seen[k.key]; !ok {
			seen[k.key] = struct{}{}
			newKeys++
		}
	}
	hotKeys(e, isNew)
	for _, a := range e.Attrs {
		isNew(colKey{a.Key, a.Value.Kind})
	}
	if newKeys == 0 {
		return adds, nil
	}
	// Past room, newKeys is a lower bound (counting stopped).
	if have+newKeys > s.cfg.MaxDatasetColumns {
		return false, fmt.Errorf("%w: dataset %q has %d columns, the event adds at least %d, the limit is %d",
			store.ErrTooManyColumns, e.Dataset, have, newKeys, s.cfg.MaxDatasetColumns)
	}
	if env.ncols+newKeys > s.cfg.MaxEnvColumns {
		return false, fmt.Errorf("%w: the environment's datasets have %d columns, the event adds at least %d, the limit is %d",
			store.ErrTooManyColumns, env.ncols, newKeys, s.cfg.MaxEnvColumns)
	}
	return adds, nil
}

// seenSet returns an empty set for admit, of room for n names. The set is
// reused (a map per event, and its growth, cost most of refusing a flood
// of new fields) unless n is large. Callers hold wmu.
func (s *Store) seenSet(n int) map[string]struct{} {
	const reuse = 4096
	if n > reuse {
		return make(map[string]struct{}, n)
	}
	if s.admitSeen == nil {
		s.admitSeen = make(map[string]struct{}, reuse)
	}
	clear(s.admitSeen)
	return s.admitSeen
}

// touch records that dataset d (the Write's own copy when the field is
// new to it) got field k at now.
func (s *Store) touch(env *envReg, d *dsReg, k colKey, now int64) {
	if t, ok := d.cols[k]; ok {
		s.stamp(env, t, dirtyRef{env: env.slug, ds: d.id, k: k}, now)
		return
	}
	env.addField(d, k, now)
}

// stamp queues t's last-written time to move to now once the Write
// commits, and its catalog row for the next flush.
func (s *Store) stamp(env *envReg, t *colTimes, ref dirtyRef, now int64) {
	if t.gen == s.wgen || t.last.Load() == now {
		return
	}
	t.gen = s.wgen
	env.w.touched = append(env.w.touched, t)
	env.w.touchedRef = append(env.w.touchedRef, ref)
}

type driverConn interface {
	driver.Conn
	driver.ExecerContext
	driver.QueryerContext
}

// hotKeys calls fn with the hot fields event e has, as Columns lists them.
func hotKeys(e *model.Event, fn func(colKey)) {
	if !e.TraceID.IsZero() {
		fn(ckTraceID)
	}
	if !e.SpanID.IsZero() {
		fn(ckSpanID)
	}
	if !e.ParentID.IsZero() {
		fn(ckParentID)
	}
	if e.Name != "" {
		fn(ckName)
	}
	if e.ServiceName != "" {
		fn(ckService)
	}
	if e.IsSpan() || e.DurationMs != 0 {
		fn(ckDuration)
	}
	if e.SpanKind != "" {
		fn(ckSpanKind)
		fn(ckType)
	}
	if e.IsSpan() || e.StatusCode != 0 {
		fn(ckStatus)
	}
	if e.Error {
		fn(ckError)
	}
	if e.AnnotationType != "" {
		fn(ckAnnotation)
	}
}

// touchHot touches the hot fields event e has in dataset d.
func touchHot(s *Store, env *envReg, d *dsReg, e *model.Event, now int64) {
	hotKeys(e, func(k colKey) { s.touch(env, d, k, now) })
}

func (s *Store) writeTx(ctx context.Context, conn driverConn, writes []*envWrite, seq int64) error {
	exec := func(q string, args ...any) error {
		nv := make([]driver.NamedValue, len(args))
		for i, a := range args {
			nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		_, err := conn.ExecContext(ctx, q, nv)
		return err
	}
	for _, w := range writes {
		e := w.env
		if e.w.isNew {
			if err := exec(`INSERT INTO envs VALUES (?, ?)`, int32(e.id), e.slug); err != nil {
				return err
			}
			for _, q := range eventsDDL(e) {
				if err := exec(q); err != nil {
					return err
				}
			}
		}
		if len(e.w.newKeys) > 0 {
			if err := appendRows(conn, "overflow_keys", func(app *duckdb.Appender) error {
				for _, k := range e.w.newKeys {
					if err := app.AppendRow(int32(e.id), e.keyIDs[k], k); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		for _, a := range e.w.newAttrs {
			if err := exec(`ALTER TABLE ` + e.eventsTable() + ` ADD COLUMN ` + a.name + ` ` + attrSQLType(a.kind)); err != nil {
				return err
			}
			if err := exec(`INSERT INTO attr_columns VALUES (?, ?, ?, ?, ?)`, int32(e.id), int32(a.id), a.key, uint8(a.kind), a.promoted); err != nil {
				return err
			}
		}
		items, xkeys := dedupXRay(w.items)
		if len(xkeys) > 0 {
			kept, err := s.replaceXRay(ctx, conn, exec, e, items, xkeys)
			if err != nil {
				return fmt.Errorf("replace X-Ray segments: %w", err)
			}
			if len(kept) > 0 {
				items = slices.DeleteFunc(items, func(it item) bool {
					return it.ev.Source == model.SourceXRay && kept[xrayKey{splitTrace(it.ev.TraceID), spanInt(it.ev.SpanID)}]
				})
			}
		}
		items = byTrace(items)
		var bloom searchBloom
		if err := s.appendEvents(conn, e, items, w.slots, seq, &bloom); err != nil {
			return err
		}
		if len(bloom.hashes) > 0 {
			r := &bloomRow{wseq: seq, lo: bloom.lo, hi: bloom.hi, bits: bloom.bits(s.cfg.SearchFilterBitsPerItem)}
			if err := exec(`INSERT INTO `+e.bloomsTable()+` VALUES (?, ?, ?, ?::BLOB::BIT)`, r.wseq, r.lo, r.hi, r.bits); err != nil {
				return fmt.Errorf("write search filter: %w", err)
			}
			w.bloom = r
		}
		w.index = traceRows(items)
		n := s.idx.pendingRows(e.id)
		for b := range w.index {
			n += len(w.index[b])
		}
		if n >= s.cfg.TraceIndexFlushRows {
			all, _ := s.idx.snapshot(e.id, w.index)
			if err := flushIndex(ctx, conn, e, all, seq); err != nil {
				return fmt.Errorf("write trace index: %w", err)
			}
			w.indexFlushed = true
		}
		if err := s.persistNew(conn, e); err != nil {
			return err
		}
	}
	return nil
}

// byTrace orders a write's events by trace id, keeping their order within
// a trace. Requests carry spans grouped by service, so a trace's spans are
// spread over the request; stored side by side, its trace_hi and trace_lo
// values form runs that DuckDB compresses to one value per run (16 bytes
// per trace instead of per span), and a trace's rows share vectors when
// read back.
func byTrace(items []item) []item {
	if slices.IsSortedFunc(items, cmpTrace) {
		return items
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, cmpTrace)
	return out
}

func cmpTrace(a, b item) int { return bytes.Compare(a.ev.TraceID[:], b.ev.TraceID[:]) }

// dedupXRay keeps one X-Ray event per trace and span id of a write, the
// one X-Ray's duplicate rule keeps (xrayview.Prefer: a complete segment
// over an in-progress one, else the later), and returns the keys of the
// X-Ray events left.
func dedupXRay(items []item) ([]item, []xrayKey) {
	var keep map[xrayKey]int
	for i, it := range items {
		e := it.ev
		if e.Source != model.SourceXRay || e.SpanID.IsZero() {
			continue
		}
		if keep == nil {
			keep = map[xrayKey]int{}
		}
		k := xrayKey{splitTrace(e.TraceID), spanInt(e.SpanID)}
		if j, seen := keep[k]; !seen || xrayview.Prefer(items[j].ev, e) {
			keep[k] = i
		}
	}
	if len(keep) == 0 {
		return items, nil
	}
	keys := make([]xrayKey, 0, len(keep))
	out := items[:0:0]
	for i, it := range items {
		e := it.ev
		if e.Source == model.SourceXRay && !e.SpanID.IsZero() {
			k := xrayKey{splitTrace(e.TraceID), spanInt(e.SpanID)}
			if keep[k] != i {
				continue
			}
			keys = append(keys, k)
		}
		out = append(out, it)
	}
	return out, keys
}

// replaceXRay applies X-Ray's duplicate rule between the stored X-Ray
// events and items, the X-Ray events of a write (one per key, keys in
// order): a stored event is deleted unless it is complete while its
// incoming duplicate is in progress (xrayview.Prefer). It returns the keys
// whose stored event stays, so that the incoming one is not written.
//
// Only the keys of traces the trace index knows (storedTraces: one
// statement over the index tables, and the pending rows) are looked for
// among the events, and only within their traces' time range
// (xrayGroups).
func (s *Store) replaceXRay(ctx context.Context, conn driverConn, exec func(string, ...any) error, e *envReg, items []item, keys []xrayKey) (map[xrayKey]bool, error) {
	ranges, err := s.storedTraces(ctx, conn, e, keys)
	if err != nil {
		return nil, err
	}
	if len(ranges) == 0 {
		return nil, nil // every trace is new to the store
	}
	keys = slices.DeleteFunc(slices.Clone(keys), func(k xrayKey) bool {
		_, ok := ranges[k.trace]
		return !ok
	})
	if len(keys) == 0 {
		return nil, nil
	}
	var inProgress []xrayKey
	for _, it := range items {
		if it.ev.Source == model.SourceXRay && !it.ev.SpanID.IsZero() && xrayview.InProgress(it.ev) {
			k := xrayKey{splitTrace(it.ev.TraceID), spanInt(it.ev.SpanID)}
			if _, ok := ranges[k.trace]; ok {
				inProgress = append(inProgress, k)
			}
		}
	}
	var kept map[xrayKey]bool
	if len(inProgress) > 0 {
		if kept, err = s.storedComplete(ctx, conn, e, inProgress, ranges); err != nil {
			return nil, err
		}
		if len(kept) > 0 {
			keys = slices.DeleteFunc(keys, func(k xrayKey) bool { return kept[k] })
		}
	}
	return kept, deleteXRay(exec, e, keys, ranges)
}

// tsRange is a time range of stored events, unix nanoseconds.
type tsRange struct{ lo, hi int64 }

// storedTraces returns the time range of the stored events of each of
// keys' traces that has any, from the trace index: of the traces its
// filter may hold (tracefilter.go; loaded on first use), one statement
// joins the ids, passed as two BIGINT lists, with the index tables of
// their buckets (bounded by the smallest and largest trace_hi, which X-Ray
// ids start with their time, so the tables' zone maps skip old row
// groups), and the pending rows in memory are searched once.
func (s *Store) storedTraces(ctx context.Context, conn driverConn, e *envReg, keys []xrayKey) (map[traceKey]tsRange, error) {
	seen := make(map[traceKey]struct{}, len(keys))
	for _, k := range keys {
		seen[k.trace] = struct{}{}
	}
	if !s.idx.loaded(e.id) {
		if err := s.loadTraceFilter(ctx, conn, e); err != nil {
			return nil, fmt.Errorf("load trace filter: %w", err)
		}
	}
	// Only the traces the filter may hold are looked up.
	his := make([]int64, 0, len(seen))
	los := make([]int64, 0, len(seen))
	var buckets [tracesBuckets]bool
	var minHi, maxHi int64
	s.idx.mayHave(e.id, seen, func(tk traceKey) {
		if len(his) == 0 {
			minHi, maxHi = tk.hi, tk.hi
		}
		his, los = append(his, tk.hi), append(los, tk.lo)
		buckets[traceBucket(tk)] = true
		minHi, maxHi = min(minHi, tk.hi), max(maxHi, tk.hi)
	})
	if len(his) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT t.trace_hi, t.trace_lo, min(t.min_ts), max(t.max_ts) FROM (`)
	n := 0
	for b, ok := range buckets {
		if !ok {
			continue
		}
		if n > 0 {
			q.WriteString(` UNION ALL `)
		}
		n++
		q.WriteString(`SELECT trace_hi, trace_lo, min_ts, max_ts FROM ` + e.tracesTable(b) + ` WHERE trace_hi BETWEEN $3 AND $4`)
	}
	q.WriteString(`) t JOIN (SELECT unnest(` + bigintList("$1") + `) AS hi, unnest(` + bigintList("$2") + `) AS lo) k ON t.trace_hi = k.hi AND t.trace_lo = k.lo GROUP BY t.trace_hi, t.trace_lo`)
	rows, err := conn.QueryContext(ctx, q.String(), []driver.NamedValue{
		{Ordinal: 1, Value: bigintsParam(his)}, {Ordinal: 2, Value: bigintsParam(los)}, {Ordinal: 3, Value: minHi}, {Ordinal: 4, Value: maxHi},
	})
	if err != nil {
		return nil, err
	}
	out := map[traceKey]tsRange{}
	vals := make([]driver.Value, 4)
	for {
		if err := rows.Next(vals); err != nil {
			_ = rows.Close()
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		out[traceKey{hi: vals[0].(int64), lo: vals[1].(int64)}] = tsRange{vals[2].(int64), vals[3].(int64)}
	}
	s.idx.lookupAll(e.id, seen, func(r traceRow) {
		if have, ok := out[r.tk]; ok {
			out[r.tk] = tsRange{min(have.lo, r.lo), max(have.hi, r.hi)}
		} else {
			out[r.tk] = tsRange{r.lo, r.hi}
		}
	})
	return out, nil
}

// loadTraceFilter fills e's trace filter from its index tables and
// pending rows.
func (s *Store) loadTraceFilter(ctx context.Context, conn driverConn, e *envReg) error {
	start := time.Now()
	union := make([]string, tracesBuckets)
	for b := range union {
		union[b] = `SELECT trace_hi, trace_lo FROM ` + e.tracesTable(b)
	}
	rows, err := conn.QueryContext(ctx, strings.Join(union, ` UNION ALL `), nil)
	if err != nil {
		return err
	}
	var tks []traceKey
	vals := make([]driver.Value, 2)
	for {
		if err := rows.Next(vals); err != nil {
			_ = rows.Close()
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		tks = append(tks, traceKey{hi: vals[0].(int64), lo: vals[1].(int64)})
	}
	s.idx.loadFilter(e.id, tks)
	s.log.Info("duckdb store: trace filter loaded", "env", e.slug, "index_rows", len(tks), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// xrayGroupsMax is how many statements at most look for a write's keys
// among the events (see xrayGroups).
const xrayGroupsMax = 8

// xrayKeyGroup is keys whose traces' stored events lie in one time range,
// as the BIGINT lists that a statement joins with the events.
type xrayKeyGroup struct {
	tsRange
	his, los, spans []int64
}

// xrayGroups splits keys, whose traces all have stored events (ranges),
// into at most xrayGroupsMax groups by time: the traces' ranges sorted and
// cut at the widest gaps between them, so that a statement's ts range does
// not take in the events between traces stored far apart.
func xrayGroups(keys []xrayKey, ranges map[traceKey]tsRange) []xrayKeyGroup {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b xrayKey) int {
		ra, rb := ranges[a.trace], ranges[b.trace]
		if ra.lo != rb.lo {
			return cmp.Compare(ra.lo, rb.lo)
		}
		return cmp.Compare(ra.hi, rb.hi)
	})
	// gaps[i] is the time between the keys before i and the key at i.
	type gap struct {
		at   int
		size int64
	}
	var gaps []gap
	reach := ranges[sorted[0].trace].hi
	for i := 1; i < len(sorted); i++ {
		r := ranges[sorted[i].trace]
		if r.lo > reach {
			gaps = append(gaps, gap{i, r.lo - reach})
		}
		reach = max(reach, r.hi)
	}
	slices.SortFunc(gaps, func(a, b gap) int { return cmp.Compare(b.size, a.size) })
	cuts := []int{0}
	for _, g := range gaps[:min(len(gaps), xrayGroupsMax-1)] {
		cuts = append(cuts, g.at)
	}
	slices.Sort(cuts)
	cuts = append(cuts, len(sorted))
	out := make([]xrayKeyGroup, 0, len(cuts)-1)
	for c := 0; c+1 < len(cuts); c++ {
		part := sorted[cuts[c]:cuts[c+1]]
		g := xrayKeyGroup{tsRange: ranges[part[0].trace]}
		for _, k := range part {
			r := ranges[k.trace]
			g.lo, g.hi = min(g.lo, r.lo), max(g.hi, r.hi)
			g.his, g.los, g.spans = append(g.his, k.trace.hi), append(g.los, k.trace.lo), append(g.spans, k.span)
		}
		out = append(out, g)
	}
	return out
}

// xrayKeysJoin is a group's keys as a table (k) and xrayKeysMatch the
// condition that an events row (ev) has one of them; their parameters are
// xrayKeyGroup.args.
const (
	xrayKeysJoin  = `(SELECT unnest(` + bigintsOfParam + `) AS hi, unnest(` + bigintsOfParam + `) AS lo, unnest(` + bigintsOfParam + `) AS sp) k`
	xrayKeysMatch = `ev.ts BETWEEN ? AND ? AND ev.source = 1 AND ev.trace_hi = k.hi AND ev.trace_lo = k.lo AND ev.span_id = k.sp`
)

// args are the parameters of xrayKeysJoin and xrayKeysMatch, in order.
func (g *xrayKeyGroup) args() []any {
	return []any{bigintsParam(g.his), bigintsParam(g.los), bigintsParam(g.spans), g.lo, g.hi}
}

// bigintsOfParam is a BIGINT list passed as one VARCHAR parameter made by
// bigintsParam (duckdb-go cannot bind a Go slice where DuckDB does not
// know the parameter's type, as in unnest; and one string costs one cgo
// call where a list costs some per element).
const bigintsOfParam = `string_split(?, ',')::BIGINT[]`

// bigintList is bigintsOfParam with a numbered parameter.
func bigintList(param string) string { return `string_split(` + param + `, ',')::BIGINT[]` }

// bigintsParam is vs as bigintsOfParam's parameter: decimal, comma-separated.
func bigintsParam(vs []int64) string {
	b := make([]byte, 0, 20*len(vs))
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(b)
}

// storedComplete returns those of keys (whose traces all have stored
// events, ranges) whose stored X-Ray event is complete (not marked
// xrayview.KeyInProgress).
func (s *Store) storedComplete(ctx context.Context, conn driverConn, e *envReg, keys []xrayKey, ranges map[traceKey]tsRange) (map[xrayKey]bool, error) {
	prog, pargs, err := dialect.Where([]store.Filter{{Column: xrayview.KeyInProgress, Op: store.OpEq, Value: model.Bool(true)}}, store.And, resolver(e))
	if err != nil {
		return nil, err
	}
	var out map[xrayKey]bool
	for _, g := range xrayGroups(keys, ranges) {
		args := append(g.args(), pargs...)
		nargs := make([]driver.NamedValue, len(args))
		for i, a := range args {
			nargs[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := conn.QueryContext(ctx, `SELECT ev.trace_hi, ev.trace_lo, ev.span_id FROM `+e.eventsTable()+` ev, `+xrayKeysJoin+
			` WHERE `+xrayKeysMatch+` AND NOT coalesce(`+prog+`, false)`, nargs)
		if err != nil {
			return nil, err
		}
		vals := make([]driver.Value, 3)
		for {
			if err := rows.Next(vals); err != nil {
				_ = rows.Close()
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
			if out == nil {
				out = map[xrayKey]bool{}
			}
			out[xrayKey{traceKey{hi: vals[0].(int64), lo: vals[1].(int64)}, vals[2].(int64)}] = true
		}
	}
	return out, nil
}

// deleteXRay deletes the stored X-Ray events with the given trace and span
// ids, whose traces all have stored events (ranges).
func deleteXRay(exec func(string, ...any) error, e *envReg, keys []xrayKey, ranges map[traceKey]tsRange) error {
	if len(keys) == 0 {
		return nil
	}
	for _, g := range xrayGroups(keys, ranges) {
		// DuckDB numbers a DELETE's "?" parameters in another order.
		if err := exec(`DELETE FROM `+e.eventsTable()+` AS ev USING (SELECT unnest(`+bigintList("$1")+`) AS hi, unnest(`+bigintList("$2")+`) AS lo, unnest(`+bigintList("$3")+`) AS sp) k`+
			` WHERE ev.ts BETWEEN $4 AND $5 AND ev.source = 1 AND ev.trace_hi = k.hi AND ev.trace_lo = k.lo AND ev.span_id = k.sp`, g.args()...); err != nil {
			return err
		}
	}
	return nil
}

// appendEvents appends the events with one Appender restricted to the
// columns this write uses, and adds their listed string values to bloom.
func (s *Store) appendEvents(conn driverConn, e *envReg, items []item, slots []fieldSlot, seq int64, bloom *searchBloom) error {
	// Which attribute columns and overflow lists does this write use?
	var used []*attrCol
	var ovUsed [4]bool
	for i := range slots {
		if c := slots[i].col; c != nil {
			if !slices.Contains(used, c) {
				used = append(used, c)
			}
		} else {
			ovUsed[slots[i].k.kind&3] = true
		}
	}
	slices.SortFunc(used, func(a, b *attrCol) int { return a.id - b.id })
	// Hot columns NULL in every event of the write are left out: the
	// Appender makes them NULL, and writing a NULL cell costs a cgo call.
	var present uint16
	for _, it := range items {
		present |= hotPresent(it.ev)
	}
	var hotPos [hotCount]int
	cols := make([]string, 0, hotCount+1+2*len(ovUsed)+len(used))
	for i, c := range hotColumns {
		hotPos[i] = -1
		if present&(1<<i) != 0 {
			hotPos[i] = len(cols)
			cols = append(cols, c)
		}
	}
	cols = append(cols, "wseq")
	seqPos := len(cols) - 1
	var ovIdx [4]int
	for k, u := range ovUsed {
		if u {
			ovIdx[k] = len(cols)
			cols = append(cols, overflowKeys[k], overflowVals[k])
		}
	}
	for _, ac := range used {
		pos := len(cols)
		cols = append(cols, ac.name)
		for i := range slots {
			if slots[i].col == ac {
				slots[i].pos = pos
			}
		}
	}
	app, err := duckdb.NewAppenderWithColumns(conn, "", "main", e.eventsTable(), cols)
	if err != nil {
		return err
	}
	row := make([]driver.Value, len(cols))
	var hot [hotCount]driver.Value
	// The Appender copies every value into its chunk during AppendRow, so
	// the overflow lists' buffers are reused from row to row.
	var ovk, ovv [4][]any
	for _, it := range items {
		ev := it.ev
		clear(row)
		clear(hot[:])
		fillHot(hot[:], ev, it.ds.id)
		for i, p := range hotPos {
			if p >= 0 {
				row[p] = hot[i]
			}
		}
		row[seqPos] = seq
		for k := range ovk {
			ovk[k], ovv[k] = ovk[k][:0], ovv[k][:0]
		}
		for j, a := range ev.Attrs {
			sl := &slots[it.slots[j]]
			if sl.col == nil {
				kk := a.Value.Kind & 3
				ovk[kk] = append(ovk[kk], sl.keyID)
				ovv[kk] = append(ovv[kk], attrValue(a.Value))
				if kk == model.KindString && ev.ServiceName != "" {
					bloom.add(ev.ServiceName, sl.keyID, a.Value.Str, ev.Time.UnixNano())
				}
				continue
			}
			row[sl.pos] = attrValue(a.Value)
		}
		for k := range ovk {
			if len(ovk[k]) > 0 {
				row[ovIdx[k]], row[ovIdx[k]+1] = ovk[k], ovv[k]
			}
		}
		if err := app.AppendRow(row...); err != nil {
			_ = app.Close()
			return fmt.Errorf("append event: %w", err)
		}
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}

func attrValue(v model.Value) driver.Value {
	switch v.Kind {
	case model.KindInt:
		return v.Int
	case model.KindFloat:
		return v.Flt
	case model.KindBool:
		return v.Int != 0
	}
	return v.Str
}

func nullStr(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// hotCount is the number of hot columns.
const hotCount = 16

// hotPresent is the set of hot columns (bit i: hotColumns[i]) that fillHot
// gives event e a value in.
func hotPresent(e *model.Event) uint16 {
	const always = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<14 // ts, ds, source, trace_hi, trace_lo, sample_rate
	m := uint16(always)
	set := func(i int, ok bool) {
		if ok {
			m |= 1 << i
		}
	}
	set(5, !e.SpanID.IsZero())
	set(6, !e.ParentID.IsZero())
	set(7, e.Name != "")
	set(8, e.ServiceName != "")
	set(9, e.IsSpan() || e.DurationMs != 0)
	set(10, e.SpanKind != "")
	set(11, e.IsSpan() || e.StatusCode != 0)
	set(12, e.Error)
	set(13, e.AnnotationType != "")
	set(15, e.Doc != nil)
	return m
}

// fillHot sets row[i] to event e's value of hotColumns[i], leaving the
// NULL ones (see hotPresent) nil.
func fillHot(row []driver.Value, e *model.Event, ds int32) {
	var ts int64
	if !e.Time.IsZero() {
		ts = e.Time.UnixNano()
	}
	tk := splitTrace(e.TraceID)
	row[0] = ts
	row[1] = ds
	row[2] = uint8(e.Source)
	row[3] = tk.hi
	row[4] = tk.lo
	if !e.SpanID.IsZero() {
		row[5] = spanInt(e.SpanID)
	}
	if !e.ParentID.IsZero() {
		row[6] = spanInt(e.ParentID)
	}
	row[7] = nullStr(e.Name)
	row[8] = nullStr(e.ServiceName)
	if e.IsSpan() || e.DurationMs != 0 {
		row[9] = e.DurationMs
	}
	row[10] = nullStr(e.SpanKind)
	if e.IsSpan() || e.StatusCode != 0 {
		row[11] = e.StatusCode
	}
	if e.Error {
		row[12] = true
	}
	row[13] = nullStr(e.AnnotationType)
	row[14] = e.SampleRate
	if e.Doc != nil {
		row[15] = e.Doc
	}
}

// persistNew writes the datasets and dataset columns this write created.
// Last-written times of existing ones move only in memory; flushCatalog
// persists the ones that moved every Config.CatalogFlushInterval and on
// Close.
func (s *Store) persistNew(conn driverConn, e *envReg) error {
	env := int32(e.id)
	if len(e.w.newDS) > 0 {
		if err := appendRows(conn, "datasets", func(app *duckdb.Appender) error {
			for _, d := range e.w.newDS {
				if err := app.AppendRow(env, d.id, d.name, d.slug, d.times.created, d.times.created); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(e.w.newCols) == 0 {
		return nil
	}
	return appendRows(conn, "dataset_columns", func(app *duckdb.Appender) error {
		for _, c := range e.w.newCols {
			t := c.d.cols[c.k]
			if err := app.AppendRow(env, c.d.id, c.k.key, uint8(c.k.kind), t.created, t.created); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendRows appends to a table with fill and closes the appender.
func appendRows(conn driverConn, table string, fill func(*duckdb.Appender) error) error {
	app, err := duckdb.NewAppender(conn, "", "main", table)
	if err != nil {
		return fmt.Errorf("append %s: %w", table, err)
	}
	if err := fill(app); err != nil {
		_ = app.Close()
		return fmt.Errorf("append %s: %w", table, err)
	}
	if err := app.Close(); err != nil {
		return fmt.Errorf("append %s: %w", table, err)
	}
	return nil
}
