package clickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// colKey names a field with one value type.
type colKey struct {
	key  string
	kind model.Kind
}

// datasetKind marks a times row of the dataset itself.
const datasetKind = 255

// colTimes are the created and last-written times (Unix ns) of a field of
// a dataset, or of the dataset.
type colTimes struct {
	created, last int64
	dirty         bool // last moved since the last flush
}

// dsCat is a live dataset.
type dsCat struct {
	id         uint32
	name, slug string
	times      colTimes
	cols       map[colKey]*colTimes
	nkeys      int // distinct keys in cols: what MaxDatasetColumns bounds
}

func (d *dsCat) hasKey(key string) bool {
	for k := model.KindString; k <= model.KindBool; k++ {
		if _, ok := d.cols[colKey{key, k}]; ok {
			return true
		}
	}
	return false
}

// dsKey is a field of a dataset, any type.
type dsKey struct {
	ds  uint32
	key string
}

// envCat is an environment's catalog.
type envCat struct {
	slug     string
	datasets map[string]*dsCat // live, by lowercase name
	byID     map[uint32]*dsCat // live
	// deleted lists the ids of deleted datasets, whose rows reads leave
	// out until (and after) the mutation deleting them is done.
	deleted []uint32
	// kinds has, per attribute key, a bit per value type ever written in
	// the environment: the typed lists a filter on the key reads.
	kinds map[string]uint8
	// colDeletes has, per deleted field of a dataset, the last Write whose
	// rows lose it.
	colDeletes map[dsKey]uint64
	byKeyDel   map[string][]dsDel
	ncols      int  // sum of the datasets' nkeys: what MaxEnvColumns bounds
	replaced   bool // some X-Ray event of the environment was replaced
}

type dsDel struct {
	ds   uint32
	wseq uint64
}

func newEnvCat(slug string) *envCat {
	return &envCat{slug: slug, datasets: map[string]*dsCat{}, byID: map[uint32]*dsCat{},
		kinds: map[string]uint8{}, colDeletes: map[dsKey]uint64{}, byKeyDel: map[string][]dsDel{}}
}

func (e *envCat) findDataset(name string) *dsCat {
	if d := e.datasets[strings.ToLower(name)]; d != nil {
		return d
	}
	for _, d := range e.datasets {
		if d.slug == name {
			return d
		}
	}
	return nil
}

func (e *envCat) setColDelete(ds uint32, key string, wseq uint64) {
	k := dsKey{ds, key}
	if e.colDeletes[k] >= wseq {
		return
	}
	e.colDeletes[k] = wseq
	list := e.byKeyDel[key]
	for i := range list {
		if list[i].ds == ds {
			list[i].wseq = wseq
			return
		}
	}
	e.byKeyDel[key] = append(list, dsDel{ds, wseq})
}

// catalog is every environment's catalog, and the store-wide sets reads
// consult.
type catalog struct {
	envs map[string]*envCat
	// aborted are Writes that failed after inserting part of their rows.
	aborted   []uint64
	overrides map[string]store.Retention
}

func (c *catalog) env(slug string) *envCat { return c.envs[slug] }

// loadCatalog reads the catalog tables, and the last Write sequence
// number used (0 without withSeq: reading it scans events' wseq).
func (s *Store) loadCatalog(ctx context.Context, withSeq bool) (*catalog, uint64, error) {
	cat := &catalog{envs: map[string]*envCat{}, overrides: map[string]store.Retention{}}
	env := func(slug string) *envCat {
		e := cat.envs[slug]
		if e == nil {
			e = newEnvCat(slug)
			cat.envs[slug] = e
		}
		return e
	}
	// The newest version of each row, as FINAL would give: 18.16 fails
	// FINAL through a Distributed table ("Cannot find column version in
	// source stream") when the rows are on another shard.
	rows, err := s.c.rows(ctx, "SELECT env, id, argMax(name, version), argMax(slug, version), argMax(created_ns, version), argMax(deleted, version) "+
		"FROM datasets GROUP BY env, id ORDER BY env, id")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		e := env(r[0].(string))
		id := uint32(r[1].(int64))
		if r[5].(int64) != 0 {
			e.deleted = append(e.deleted, id)
			continue
		}
		d := &dsCat{id: id, name: r[2].(string), slug: r[3].(string), cols: map[colKey]*colTimes{}}
		d.times.created, d.times.last = r[4].(int64), r[4].(int64)
		e.datasets[strings.ToLower(d.name)] = d
		e.byID[id] = d
	}
	rows, err = s.c.rows(ctx, "SELECT env, ds, key, kind, argMax(created_ns, version), argMax(deleted, version) FROM columns GROUP BY env, ds, key, kind")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		e := env(r[0].(string))
		k := colKey{r[2].(string), model.Kind(r[3].(int64))}
		if !isHot(k.key) || k.kind != hotKinds[k.key] {
			e.kinds[k.key] |= 1 << k.kind
		}
		d := e.byID[uint32(r[1].(int64))]
		if d == nil || r[5].(int64) != 0 {
			continue
		}
		if !d.hasKey(k.key) {
			d.nkeys++
			e.ncols++
		}
		d.cols[k] = &colTimes{created: r[4].(int64), last: r[4].(int64)}
	}
	rows, err = s.c.rows(ctx, "SELECT env, ds, key, max(wseq) FROM column_deletes GROUP BY env, ds, key")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		env(r[0].(string)).setColDelete(uint32(r[1].(int64)), r[2].(string), asUint(r[3]))
	}
	rows, err = s.c.rows(ctx, "SELECT env, ds, key, kind, max(last_ns) FROM times GROUP BY env, ds, key, kind")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		e := cat.envs[r[0].(string)]
		if e == nil {
			continue
		}
		d := e.byID[uint32(r[1].(int64))]
		if d == nil {
			continue
		}
		last := r[4].(int64)
		if r[3].(int64) == datasetKind {
			d.times.last = max(d.times.last, last)
			continue
		}
		if t := d.cols[colKey{r[2].(string), model.Kind(r[3].(int64))}]; t != nil {
			t.last = max(t.last, last)
		}
	}
	rows, err = s.c.rows(ctx, "SELECT DISTINCT env FROM xray_replaced")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		env(r[0].(string)).replaced = true
	}
	rows, err = s.c.rows(ctx, "SELECT DISTINCT wseq FROM aborted ORDER BY wseq")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		cat.aborted = append(cat.aborted, asUint(r[0]))
	}
	rows, err = s.c.rows(ctx, "SELECT env, argMax(max_age_ns, version), argMax(max_bytes, version), argMax(deleted, version) FROM retention GROUP BY env")
	if err != nil {
		return nil, 0, err
	}
	for _, r := range rows {
		if r[3].(int64) == 0 {
			cat.overrides[r[0].(string)] = store.Retention{MaxAge: time.Duration(r[1].(int64)), MaxBytes: r[2].(int64)}
		}
	}
	if !withSeq {
		return cat, 0, nil
	}
	rows, err = s.c.rows(ctx, "SELECT max(wseq) FROM events")
	if err != nil {
		return nil, 0, err
	}
	wseq := asUint(rows[0][0])
	if rows, err = s.c.rows(ctx, "SELECT max(wseq) FROM column_deletes"); err != nil {
		return nil, 0, err
	}
	wseq = max(wseq, asUint(rows[0][0]))
	return cat, wseq, nil
}

func asUint(v any) uint64 {
	switch x := v.(type) {
	case int64:
		return uint64(x)
	case uint64:
		return x
	}
	return 0
}

// flushTimes persists the last-written times that moved. Callers hold wmu.
func (s *Store) flushTimes(ctx context.Context) error {
	var buf bytes.Buffer
	s.cmu.Lock()
	var flushed []*colTimes
	for slug, e := range s.cat.envs {
		for _, d := range e.byID {
			if d.times.dirty {
				putTimesRow(&buf, slug, d.id, "", datasetKind, d.times.last)
				flushed = append(flushed, &d.times)
			}
			for k, t := range d.cols {
				if t.dirty {
					putTimesRow(&buf, slug, d.id, k.key, uint8(k.kind), t.last)
					flushed = append(flushed, t)
				}
			}
		}
	}
	s.cmu.Unlock()
	if buf.Len() == 0 {
		return nil
	}
	if err := s.c.insert(ctx, "times", "env, ds, key, kind, last_ns", "RowBinary", buf.Bytes()); err != nil {
		return err
	}
	s.cmu.Lock()
	for _, t := range flushed {
		t.dirty = false
	}
	s.cmu.Unlock()
	return nil
}

func putTimesRow(b *bytes.Buffer, env string, ds uint32, key string, kind uint8, last int64) {
	putString(b, env)
	putU32(b, ds)
	putString(b, key)
	b.WriteByte(kind)
	putI64(b, last)
}

// RowBinary encoding.

func putUvarint(b *bytes.Buffer, n uint64) {
	var tmp [binary.MaxVarintLen64]byte
	b.Write(tmp[:binary.PutUvarint(tmp[:], n)])
}

func putString(b *bytes.Buffer, s string) {
	putUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

func putU16(b *bytes.Buffer, v uint16) {
	var tmp [2]byte
	binary.LittleEndian.PutUint16(tmp[:], v)
	b.Write(tmp[:])
}

func putU32(b *bytes.Buffer, v uint32) {
	var tmp [4]byte
	binary.LittleEndian.PutUint32(tmp[:], v)
	b.Write(tmp[:])
}

func putU64(b *bytes.Buffer, v uint64) {
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], v)
	b.Write(tmp[:])
}

func putI64(b *bytes.Buffer, v int64) { putU64(b, uint64(v)) }

func putF64(b *bytes.Buffer, v float64) { putU64(b, math.Float64bits(v)) }

// columns folds dataset columns into one store.Column per key: the type
// first seen (float when a key was written as integers and floats), the
// earliest created, the latest last written.
func columns(sets ...map[colKey]*colTimes) []store.Column {
	type acc struct {
		col          store.Column
		firstCreated int64
		last         int64
		ints, floats bool
	}
	by := map[string]*acc{}
	for _, set := range sets {
		for k, c := range set {
			a := by[k.key]
			if a == nil {
				a = &acc{col: store.Column{KeyName: k.key, Type: k.kind}, firstCreated: c.created, last: c.last}
				by[k.key] = a
			}
			a.ints = a.ints || k.kind == model.KindInt
			a.floats = a.floats || k.kind == model.KindFloat
			if c.created < a.firstCreated || (c.created == a.firstCreated && k.kind < a.col.Type) {
				a.firstCreated, a.col.Type = c.created, k.kind
			}
			a.last = max(a.last, c.last)
		}
	}
	out := make([]store.Column, 0, len(by))
	for _, a := range by {
		if a.ints && a.floats && (a.col.Type == model.KindInt || a.col.Type == model.KindFloat) {
			a.col.Type = model.KindFloat
		}
		a.col.CreatedAt = time.Unix(0, a.firstCreated).UTC()
		a.col.LastWritten = time.Unix(0, a.last).UTC()
		out = append(out, a.col)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyName < out[j].KeyName })
	return out
}
