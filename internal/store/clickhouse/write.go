package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

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

func isHot(key string) bool { _, ok := hotKinds[key]; return ok }

// hotKeys calls fn with the hot fields event e has, as Columns lists them.
func hotKeys(e *model.Event, fn func(colKey)) {
	h := func(k string) { fn(colKey{k, hotKinds[k]}) }
	if !e.TraceID.IsZero() {
		h(model.FieldTraceID)
	}
	if !e.SpanID.IsZero() {
		h(model.FieldSpanID)
	}
	if !e.ParentID.IsZero() {
		h(model.FieldParentID)
	}
	if e.Name != "" {
		h(model.FieldName)
	}
	if e.ServiceName != "" {
		h(model.FieldServiceName)
	}
	if e.IsSpan() || e.DurationMs != 0 {
		h(model.FieldDurationMs)
	}
	if e.SpanKind != "" {
		h(model.FieldSpanKind)
		h(model.FieldType)
	}
	if e.IsSpan() || e.StatusCode != 0 {
		h(model.FieldStatusCode)
	}
	if e.Error {
		h(model.FieldError)
	}
	if e.AnnotationType != "" {
		h(model.FieldAnnotationType)
	}
}

// envTxn is what one Write adds to an environment's catalog; applied to
// the live catalog only once every insert of the Write succeeded.
type envTxn struct {
	e       *envCat // live (nil: a new environment); read-only until apply
	slug    string
	newDS   map[string]*dsCat // by lowercase name
	newCols map[*dsCat]map[colKey]bool
	addKeys map[*dsCat]int // new distinct keys per dataset
	ncols   int            // new distinct keys over the environment
	touched map[*dsCat]map[colKey]bool
	kinds   map[string]uint8
	items   []item
	// replaced is set when the Write replaces a stored X-Ray event.
	replaced bool
}

type item struct {
	ev *model.Event
	ds *dsCat
}

func (t *envTxn) dataset(name string) *dsCat {
	if d := t.newDS[strings.ToLower(name)]; d != nil {
		return d
	}
	if t.e != nil {
		return t.e.datasets[strings.ToLower(name)]
	}
	return nil
}

// newID picks a new dataset's id: a hash of the environment and the
// lowercase name, the next free one if the catalog has it (live or
// deleted). Processes writing one database (a cluster's nodes) that know
// the same catalog pick the same id for the same name without talking to
// each other; two names whose hashes meet, created by two processes
// before either read the other's, would share an id.
func (t *envTxn) newID(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(t.slug))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(name)))
	for id := h.Sum32(); ; id++ {
		if id != 0 && !t.idTaken(id) {
			return id
		}
	}
}

func (t *envTxn) idTaken(id uint32) bool {
	for _, d := range t.newDS {
		if d.id == id {
			return true
		}
	}
	if t.e == nil {
		return false
	}
	return t.e.byID[id] != nil || slices.Contains(t.e.deleted, id)
}

func (t *envTxn) hasCol(d *dsCat, k colKey) bool {
	if _, ok := d.cols[k]; ok {
		return true
	}
	return t.newCols[d][k]
}

func (t *envTxn) hasKey(d *dsCat, key string) bool {
	for k := model.KindString; k <= model.KindBool; k++ {
		if t.hasCol(d, colKey{key, k}) {
			return true
		}
	}
	return false
}

// admit decides whether e may be stored in d (nil: a new dataset).
func (s *Store) admit(t *envTxn, d *dsCat, e *model.Event) error {
	have, envHave := 0, t.ncols
	if t.e != nil {
		envHave += t.e.ncols
	}
	if d != nil {
		have = d.nkeys + t.addKeys[d]
	}
	room := max(min(s.cfg.MaxDatasetColumns-have, s.cfg.MaxEnvColumns-envHave), 0)
	newKeys := 0
	var seen map[string]bool
	check := func(k colKey) {
		if newKeys > room {
			return
		}
		if d != nil && t.hasKey(d, k.key) {
			return
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		if !seen[k.key] {
			seen[k.key] = true
			newKeys++
		}
	}
	hotKeys(e, check)
	for _, a := range e.Attrs {
		check(colKey{a.Key, a.Value.Kind})
	}
	if have+newKeys > s.cfg.MaxDatasetColumns {
		return fmt.Errorf("%w: dataset %q has %d columns, the event adds at least %d, the limit is %d",
			store.ErrTooManyColumns, e.Dataset, have, newKeys, s.cfg.MaxDatasetColumns)
	}
	if envHave+newKeys > s.cfg.MaxEnvColumns {
		return fmt.Errorf("%w: the environment's datasets have %d columns, the event adds at least %d, the limit is %d",
			store.ErrTooManyColumns, envHave, newKeys, s.cfg.MaxEnvColumns)
	}
	return nil
}

// touch records field k of dataset d as written by this Write.
func (t *envTxn) touch(d *dsCat, k colKey) {
	if !t.hasCol(d, k) {
		if !t.hasKey(d, k.key) {
			t.addKeys[d]++
			t.ncols++
		}
		if t.newCols[d] == nil {
			t.newCols[d] = map[colKey]bool{}
		}
		t.newCols[d][k] = true
	}
	m := t.touched[d]
	if m == nil {
		m = map[colKey]bool{}
		t.touched[d] = m
	}
	m[k] = true
	if !isHot(k.key) || hotKinds[k.key] != k.kind {
		t.kinds[k.key] |= 1 << k.kind
	}
}

// Write stores the batches. Each environment's events go to events in one
// INSERT (acknowledged by ClickHouse before Write returns), then the
// X-Ray replacements and the catalog rows of new datasets and columns.
// If a later insert fails, the Write's rows are marked aborted (reads
// leave them out) and an error is returned.
func (s *Store) Write(ctx context.Context, batches []store.Batch) error {
	n := 0
	for i := range batches {
		batches[i].Refused = nil
		n += len(batches[i].Events)
	}
	if n == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return wrap("write", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	now := s.cfg.Now().UnixNano()

	s.cmu.RLock()
	txns := map[string]*envTxn{}
	var order []*envTxn
	for bi := range batches {
		b := &batches[bi]
		if len(b.Events) == 0 {
			continue
		}
		t := txns[b.Env]
		if t == nil {
			t = &envTxn{e: s.cat.env(b.Env), slug: b.Env, newDS: map[string]*dsCat{}, newCols: map[*dsCat]map[colKey]bool{},
				addKeys: map[*dsCat]int{}, touched: map[*dsCat]map[colKey]bool{}, kinds: map[string]uint8{}}
			txns[b.Env] = t
			order = append(order, t)
		}
		for i := range b.Events {
			e := &b.Events[i]
			d := t.dataset(e.Dataset)
			if err := s.admit(t, d, e); err != nil {
				b.Refused = append(b.Refused, store.Refusal{Index: i, Err: err})
				continue
			}
			if d == nil {
				d = &dsCat{id: t.newID(e.Dataset), name: e.Dataset, slug: store.Slug(e.Dataset), cols: map[colKey]*colTimes{}}
				d.times.created = now
				t.newDS[strings.ToLower(e.Dataset)] = d
			}
			if t.touched[d] == nil {
				t.touched[d] = map[colKey]bool{}
			}
			hotKeys(e, func(k colKey) { t.touch(d, k) })
			for _, a := range e.Attrs {
				t.touch(d, colKey{a.Key, a.Value.Kind})
			}
			t.items = append(t.items, item{ev: e, ds: d})
		}
	}
	s.cmu.RUnlock()

	wseq := s.nextSeq()
	var events, replaced bytes.Buffer
	var dsRows, colRows bytes.Buffer
	ord := uint32(0)
	for _, t := range order {
		if len(t.items) == 0 {
			continue
		}
		items, keys := dedupXRay(t.items)
		var kept map[xrayKey]bool
		if len(keys) > 0 {
			var err error
			kept, err = s.replaceXRay(ctx, t, items, keys, wseq, &replaced)
			if err != nil {
				return wrap("write: X-Ray duplicates", err)
			}
		}
		for _, it := range items {
			e := it.ev
			if e.Source == model.SourceXRay && !e.SpanID.IsZero() && kept[xrayKey{e.TraceID, e.SpanID}] {
				continue
			}
			encodeEvent(&events, t.slug, it.ds.id, e, wseq, ord)
			ord++
		}
		for _, d := range t.newDS {
			putString(&dsRows, t.slug)
			putU32(&dsRows, d.id)
			putString(&dsRows, d.name)
			putString(&dsRows, d.slug)
			putI64(&dsRows, d.times.created)
			dsRows.WriteByte(0)
			putU64(&dsRows, wseq)
		}
		for d, cols := range t.newCols {
			for k := range cols {
				putString(&colRows, t.slug)
				putU32(&colRows, d.id)
				putString(&colRows, k.key)
				colRows.WriteByte(uint8(k.kind))
				putI64(&colRows, now)
				colRows.WriteByte(0)
				putU64(&colRows, wseq)
			}
		}
	}
	if events.Len() == 0 {
		return nil
	}
	if err := s.c.insert(ctx, "events", eventColumns, "RowBinary", events.Bytes()); err != nil {
		// The INSERT may have stored some parts (or all, with the answer
		// lost): make sure none of its rows is ever read.
		s.abort(wseq)
		return wrap(fmt.Sprintf("write %d events", n), err)
	}
	var err error
	if replaced.Len() > 0 {
		err = s.c.insert(ctx, "xray_replaced", "env, day, trace_id, span_id, wseq, by_wseq", "RowBinary", replaced.Bytes())
	}
	if err == nil && dsRows.Len() > 0 {
		err = s.c.insert(ctx, "datasets", "env, id, name, slug, created_ns, deleted, version", "RowBinary", dsRows.Bytes())
	}
	if err == nil && colRows.Len() > 0 {
		err = s.c.insert(ctx, "columns", "env, ds, key, kind, created_ns, deleted, version", "RowBinary", colRows.Bytes())
	}
	if err != nil {
		s.abort(wseq)
		return wrap(fmt.Sprintf("write %d events", n), err)
	}
	s.apply(order, now)
	return nil
}

// abort marks a failed Write's rows as never to be read: in memory at
// once, in the aborted table as soon as the server takes it (retried by
// later aborts), and a mutation deletes them.
func (s *Store) abort(wseq uint64) {
	s.cmu.Lock()
	s.cat.aborted = append(s.cat.aborted, wseq)
	all := append([]uint64(nil), s.cat.aborted...)
	s.cmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b bytes.Buffer
	for _, w := range all {
		putU64(&b, w)
	}
	if err := s.c.insert(ctx, "aborted", "wseq", "RowBinary", b.Bytes()); err != nil {
		s.cfg.Logger.Warn("clickhouse store: record an aborted write", "wseq", wseq, "err", err)
		return
	}
	if err := s.alter(ctx, "events", "DELETE WHERE wseq = ?", wseq); err != nil {
		s.cfg.Logger.Warn("clickhouse store: delete an aborted write's rows", "wseq", wseq, "err", err)
	}
}

// apply publishes a committed Write's catalog changes.
func (s *Store) apply(order []*envTxn, now int64) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	for _, t := range order {
		if len(t.items) == 0 {
			continue
		}
		e := s.cat.envs[t.slug]
		if e == nil {
			e = newEnvCat(t.slug)
			s.cat.envs[t.slug] = e
		}
		for _, d := range t.newDS {
			e.datasets[strings.ToLower(d.name)] = d
			e.byID[d.id] = d
		}
		for d, cols := range t.newCols {
			for k := range cols {
				if !d.hasKey(k.key) {
					d.nkeys++
					e.ncols++
				}
				d.cols[k] = &colTimes{created: now, last: now}
			}
		}
		for d, cols := range t.touched {
			d.times.last, d.times.dirty = now, true
			for k := range cols {
				c := d.cols[k]
				c.last, c.dirty = now, true
			}
		}
		for k, m := range t.kinds {
			e.kinds[k] |= m
		}
		e.replaced = e.replaced || t.replaced
	}
}

// encodeEvent appends e as one RowBinary row of eventColumns.
func encodeEvent(b *bytes.Buffer, env string, ds uint32, e *model.Event, wseq uint64, ord uint32) {
	var ts int64
	if !e.Time.IsZero() {
		ts = e.Time.UnixNano()
	}
	putString(b, env)
	putU16(b, dayOf(ts))
	putI64(b, ts)
	putU32(b, ds)
	b.WriteByte(uint8(e.Source))
	b.Write(e.TraceID[:])
	b.Write(e.SpanID[:])
	b.Write(e.ParentID[:])
	putString(b, e.Name)
	putString(b, e.ServiceName)
	putString(b, e.SpanKind)
	putString(b, e.AnnotationType)
	if e.IsSpan() || e.DurationMs != 0 {
		b.WriteByte(0)
		putF64(b, e.DurationMs)
	} else {
		b.WriteByte(1)
	}
	if e.IsSpan() || e.StatusCode != 0 {
		b.WriteByte(0)
		putI64(b, e.StatusCode)
	} else {
		b.WriteByte(1)
	}
	b.WriteByte(boolByte(e.Error))
	putI64(b, e.SampleRate)
	putUvarint(b, uint64(len(e.Doc)))
	b.Write(e.Doc)
	b.WriteByte(boolByte(e.Source == model.SourceXRay && xrayview.InProgress(e)))
	putU64(b, wseq)
	putU32(b, ord)
	for k := model.KindString; k <= model.KindBool; k++ {
		n := 0
		for _, a := range e.Attrs {
			if a.Value.Kind == k {
				n++
			}
		}
		putUvarint(b, uint64(n))
		for _, a := range e.Attrs {
			if a.Value.Kind == k {
				putString(b, a.Key)
			}
		}
		putUvarint(b, uint64(n))
		for _, a := range e.Attrs {
			if a.Value.Kind != k {
				continue
			}
			switch k {
			case model.KindString:
				putString(b, a.Value.Str)
			case model.KindInt:
				putI64(b, a.Value.Int)
			case model.KindFloat:
				putF64(b, a.Value.Flt)
			case model.KindBool:
				b.WriteByte(boolByte(a.Value.AsBool()))
			}
		}
	}
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// dayOf is the Date (days since the epoch) of a Unix ns time, clamped to
// Date's range.
func dayOf(ts int64) uint16 {
	d := ts / (86400 * 1e9)
	if ts < 0 {
		return 0
	}
	return uint16(min(d, 65535))
}

type xrayKey struct {
	trace model.TraceID
	span  model.SpanID
}

// dedupXRay keeps one X-Ray event per trace and span id of a Write's
// environment, the one X-Ray's duplicate rule keeps (xrayview.Prefer), and
// returns the keys left.
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
		k := xrayKey{e.TraceID, e.SpanID}
		if j, seen := keep[k]; !seen || xrayview.Prefer(items[j].ev, e) {
			keep[k] = i
		}
	}
	if len(keep) == 0 {
		return items, nil
	}
	keys := make([]xrayKey, 0, len(keep))
	out := make([]item, 0, len(items))
	for i, it := range items {
		e := it.ev
		if e.Source == model.SourceXRay && !e.SpanID.IsZero() {
			k := xrayKey{e.TraceID, e.SpanID}
			if keep[k] != i {
				continue
			}
			keys = append(keys, k)
		}
		out = append(out, it)
	}
	return out, keys
}

// replaceXRay applies the duplicate rule between stored X-Ray events and
// this Write's (one per key): a stored event is replaced (a row of
// xray_replaced appended to buf) unless it is complete while the incoming
// one is in progress, in which case the incoming one is not written (its
// key is returned).
func (s *Store) replaceXRay(ctx context.Context, t *envTxn, items []item, keys []xrayKey, wseq uint64, buf *bytes.Buffer) (map[xrayKey]bool, error) {
	if t.e == nil {
		return nil, nil
	}
	incoming := map[xrayKey]*model.Event{}
	for _, it := range items {
		e := it.ev
		if e.Source == model.SourceXRay && !e.SpanID.IsZero() {
			incoming[xrayKey{e.TraceID, e.SpanID}] = e
		}
	}
	var kept map[xrayKey]bool
	const chunk = 500
	for len(keys) > 0 {
		part := keys[:min(chunk, len(keys))]
		keys = keys[len(part):]
		traceSet := map[model.TraceID]bool{}
		var tids []any
		for _, k := range part {
			if !traceSet[k.trace] {
				traceSet[k.trace] = true
				tids = append(tids, string(k.trace[:]))
			}
		}
		in := placeholders(len(tids))
		rows, err := s.c.rows(ctx, "SELECT count(), minMerge(min_ts), maxMerge(max_ts) FROM traces WHERE env = ? AND trace_id IN ("+in+")",
			append([]any{t.slug}, tids...)...)
		if err != nil {
			return nil, err
		}
		if rows[0][0].(int64) == 0 {
			continue
		}
		lo, hi := rows[0][1].(int64), rows[0][2].(int64)
		s.cmu.RLock()
		base, bargs := s.visible(t.e)
		s.cmu.RUnlock()
		stored, err := s.c.rows(ctx, "SELECT trace_id, span_id, wseq, in_progress, ts FROM events WHERE env = ? AND ts >= ? AND ts <= ? AND source = 1 AND trace_id IN ("+in+")"+base,
			append(append([]any{t.slug, lo, hi}, tids...), bargs...)...)
		if err != nil {
			return nil, err
		}
		for _, r := range stored {
			var k xrayKey
			copy(k.trace[:], r[0].(string))
			copy(k.span[:], r[1].(string))
			inc := incoming[k]
			if inc == nil {
				continue
			}
			if r[3].(int64) == 0 && xrayview.InProgress(inc) {
				if kept == nil {
					kept = map[xrayKey]bool{}
				}
				kept[k] = true
				continue
			}
			putString(buf, t.slug)
			putU16(buf, dayOf(r[4].(int64)))
			buf.Write(k.trace[:])
			buf.Write(k.span[:])
			putU64(buf, asUint(r[2]))
			putU64(buf, wseq)
			t.replaced = true
		}
	}
	return kept, nil
}

func placeholders(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
