package duckdb

import (
	"maps"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// colKey names a field with one value type. A field written with two types
// is two colKeys (and two physical columns).
type colKey struct {
	key  string
	kind model.Kind
}

// attrCol is a physical attribute column of an environment's events table.
// Immutable once created; shared between registry copies.
type attrCol struct {
	id   int
	key  string
	kind model.Kind
	name string // physical column name, "a<id>"
	// promoted is set on a column created for a field that already lived
	// in the overflow maps: rows written before it keep the field there,
	// so reads look in both.
	promoted bool
}

// colTimes are the created and last-written times (unix ns) of a dataset's
// field or of the dataset itself. Shared by every registry copy: created
// never changes, last moves (atomically) after the commit of each Write
// that touched it, so a Write never copies a dataset's fields to move
// their times.
type colTimes struct {
	created int64
	last    atomic.Int64
	// gen is the Write attempt (Store.wgen) that last touched it, so a
	// Write records each at most once; guarded by Store.wmu.
	gen int64
}

func newTimes(created, last int64) *colTimes {
	t := &colTimes{created: created}
	t.last.Store(last)
	return t
}

// dsReg is a dataset. A registry copy shares it with the copy it was
// cloned from until a Write adds or removes one of its fields (ownDataset).
type dsReg struct {
	id         int32
	name, slug string
	times      *colTimes
	cols       map[colKey]*colTimes
	// nkeys is the number of distinct keys in cols (a key written with two
	// types is one column, as Honeycomb counts them): what
	// Config.MaxDatasetColumns bounds.
	nkeys int
}

// hasKey reports whether the dataset has field key with any type.
func (d *dsReg) hasKey(key string) bool {
	for k := model.KindString; k <= model.KindBool; k++ {
		if _, ok := d.cols[colKey{key, k}]; ok {
			return true
		}
	}
	return false
}

// clone copies the dataset and its field map, for a Write that changes them.
func (d *dsReg) clone() *dsReg {
	nd := *d
	nd.cols = maps.Clone(d.cols)
	return &nd
}

// envReg is an environment's part of the registry. A registry copy made
// for a Write shares every environment with the published registry; the
// Write copies (own) only the environments it writes, and within them each
// map only when it adds to it (copy on write), so a Write costs nothing for
// the catalog of the environments it does not touch, however large.
type envReg struct {
	id       int
	slug     string
	nextCol  int
	nextDS   int32
	attrs    map[colKey]*attrCol
	attrList []*attrCol // in creation order
	byKey    map[string][]*attrCol
	overflow map[colKey]bool // fields kept in the overflow lists
	ovHas    [4]bool         // value types with a field in overflow (setOverflow)
	// keyIDs and keyNames number the keys of the overflow lists (the
	// lists hold ids, not names).
	keyIDs   map[string]int32
	keyNames map[int32]string
	datasets map[string]*dsReg // by lowercase name
	dsByID   map[int32]*dsReg
	// ncols is the sum of the datasets' nkeys: what Config.MaxEnvColumns
	// bounds.
	ncols int

	// w is set on the copy a Write owns: what that Write changed, and
	// which of the shared maps it already copied.
	w *envChanges
}

// envChanges is what one Write changed in an environment, for writeTx to
// persist and for copy on write.
type envChanges struct {
	isNew      bool
	newAttrs   []*attrCol
	newKeys    []string
	newDS      []*dsReg
	newCols    []dsColRef
	attrsOwn   bool
	ovOwn      bool
	keysOwn    bool
	dsOwn      bool
	ownDS      map[int32]bool // datasets this Write copied
	touched    []*colTimes    // fields and datasets to stamp after commit
	touchedRef []dirtyRef     // their catalog rows, for the next flush
}

// dsColRef is a field of a dataset.
type dsColRef struct {
	d *dsReg
	k colKey
}

// registry is the in-memory image of the catalog tables. Readers use a
// published copy; a write works on a clone that is published only after its
// transaction committed.
type registry struct {
	nextEnv int
	envs    map[string]*envReg
}

func newRegistry() *registry {
	return &registry{nextEnv: 1, envs: map[string]*envReg{}}
}

func newEnvReg(id int, slug string) *envReg {
	return &envReg{
		id: id, slug: slug, nextCol: 1, nextDS: 1,
		attrs:    map[colKey]*attrCol{},
		byKey:    map[string][]*attrCol{},
		overflow: map[colKey]bool{},
		keyIDs:   map[string]int32{},
		keyNames: map[int32]string{},
		datasets: map[string]*dsReg{},
		dsByID:   map[int32]*dsReg{},
	}
}

func (e *envReg) eventsTable() string { return "events_" + strconv.Itoa(e.id) }

// bloomsTable is the environment's search filter (searchfilter.go).
func (e *envReg) bloomsTable() string { return "blooms_" + strconv.Itoa(e.id) }

// tracesBuckets is how many tables an environment's trace index is split
// into, by traceBucket: a lookup scans one of them. DuckDB has no index
// that pays here (an ART index on the trace id made the table 4× larger
// and saved ~0.5 ms per lookup at 1M traces), and its scan of one table
// grows with its rows: 3.3 ms per lookup at 10M spans in one table.
const tracesBuckets = 16

// tracesTable is the trace index table of bucket b.
func (e *envReg) tracesTable(b int) string {
	return "traces_" + strconv.Itoa(e.id) + "_" + strconv.Itoa(b)
}

// legacyTracesTable is the single trace index table of formats 1 and 2.
func (e *envReg) legacyTracesTable() string { return "traces_" + strconv.Itoa(e.id) }

// traceBucket is the top four bits of the trace id's last eight bytes,
// random in W3C ids and in X-Ray ids alike (an X-Ray id's first bytes are
// its time).
func traceBucket(tk traceKey) int { return int(uint64(tk.lo) >> 60) }

// clone returns a copy for a Write: the environments are shared until the
// Write owns them (ownEnv).
func (r *registry) clone() *registry {
	return &registry{nextEnv: r.nextEnv, envs: maps.Clone(r.envs)}
}

// ownEnv returns the Write's own copy of environment slug, creating the
// environment when create is set (nil when it does not exist otherwise).
func (r *registry) ownEnv(slug string, create bool) *envReg {
	e := r.envs[slug]
	if e != nil && e.w != nil {
		return e
	}
	if e == nil {
		if !create {
			return nil
		}
		e = newEnvReg(r.nextEnv, slug)
		r.nextEnv++
		e.w = &envChanges{isNew: true, attrsOwn: true, ovOwn: true, keysOwn: true, dsOwn: true, ownDS: map[int32]bool{}}
		r.envs[slug] = e
		return e
	}
	ne := *e
	ne.w = &envChanges{ownDS: map[int32]bool{}}
	r.envs[slug] = &ne
	return &ne
}

// ownAttrs copies the attribute column maps before a Write adds to them.
func (e *envReg) ownAttrs() {
	if e.w.attrsOwn {
		return
	}
	e.w.attrsOwn = true
	e.attrs = maps.Clone(e.attrs)
	e.attrList = e.attrList[:len(e.attrList):len(e.attrList)]
	byKey := make(map[string][]*attrCol, len(e.byKey))
	for k, v := range e.byKey {
		byKey[k] = v[:len(v):len(v)]
	}
	e.byKey = byKey
}

// ownDatasets copies the dataset maps before a Write changes them.
func (e *envReg) ownDatasets() {
	if e.w.dsOwn {
		return
	}
	e.w.dsOwn = true
	e.datasets = maps.Clone(e.datasets)
	e.dsByID = maps.Clone(e.dsByID)
}

// ownDataset returns the Write's own copy of dataset d, to add or remove
// fields.
func (e *envReg) ownDataset(d *dsReg) *dsReg {
	if e.w.ownDS[d.id] {
		return d
	}
	e.ownDatasets()
	nd := d.clone()
	e.w.ownDS[d.id] = true
	e.datasets[lower(nd.name)] = nd
	e.dsByID[nd.id] = nd
	return nd
}

// newDataset adds a dataset named name.
func (e *envReg) newDataset(name string, now int64) *dsReg {
	e.ownDatasets()
	d := &dsReg{id: e.nextDS, name: name, slug: store.Slug(name), times: newTimes(now, now), cols: map[colKey]*colTimes{}}
	e.nextDS++
	e.datasets[lower(name)] = d
	e.dsByID[d.id] = d
	e.w.ownDS[d.id] = true
	e.w.newDS = append(e.w.newDS, d)
	return d
}

// attr returns the physical column for a field; nil means the field lives
// in the overflow maps. A column is created when dense is set (the field is
// on enough of the environment's events, see keyStats) while the
// environment has fewer than max columns.
func (e *envReg) attr(k colKey, max int, dense bool) *attrCol {
	if a := e.attrs[k]; a != nil {
		return a
	}
	if !dense || len(e.attrList) >= max {
		e.setOverflow(k)
		e.keyID(k.key)
		return nil
	}
	e.ownAttrs()
	a := &attrCol{id: e.nextCol, key: k.key, kind: k.kind, name: "a" + strconv.Itoa(e.nextCol), promoted: e.overflow[k]}
	e.nextCol++
	e.attrs[k] = a
	e.attrList = append(e.attrList, a)
	e.byKey[k.key] = append(e.byKey[k.key], a)
	e.w.newAttrs = append(e.w.newAttrs, a)
	return a
}

// setOverflow records that field k lives (also) in the overflow lists.
func (e *envReg) setOverflow(k colKey) {
	if e.overflow[k] {
		return
	}
	if e.w != nil && !e.w.ovOwn {
		e.w.ovOwn = true
		e.overflow = maps.Clone(e.overflow)
	}
	e.overflow[k] = true
	e.ovHas[k.kind&3] = true
}

// overflowKinds lists the value types that have fields in the overflow
// lists. Reads select only those lists: fetching the vectors of every
// list column around a trace's rows cost ~1 ms of a 10M-span lookup.
func (e *envReg) overflowKinds() []int {
	kinds := make([]int, 0, len(e.ovHas))
	for k, h := range e.ovHas {
		if h {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// keyID returns the overflow-list id of key, numbering it if new.
func (e *envReg) keyID(key string) int32 {
	if id, ok := e.keyIDs[key]; ok {
		return id
	}
	if !e.w.keysOwn {
		e.keyIDs, e.keyNames, e.w.keysOwn = maps.Clone(e.keyIDs), maps.Clone(e.keyNames), true
	}
	id := int32(len(e.keyIDs) + 1)
	e.keyIDs[key] = id
	e.keyNames[id] = key
	e.w.newKeys = append(e.w.newKeys, key)
	return id
}

// addField gives dataset d (the Write's own copy) field k, created now.
func (e *envReg) addField(d *dsReg, k colKey, now int64) *colTimes {
	if !d.hasKey(k.key) {
		d.nkeys++
		e.ncols++
	}
	t := newTimes(now, now)
	d.cols[k] = t
	e.w.newCols = append(e.w.newCols, dsColRef{d, k})
	return t
}

// columns folds dataset columns into one store.Column per key: the type is
// the one first seen (float when a key was written as integers and floats),
// created the earliest, last written the latest.
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
			last := c.last.Load()
			a := by[k.key]
			if a == nil {
				a = &acc{col: store.Column{KeyName: k.key, Type: k.kind}, firstCreated: c.created, last: last}
				by[k.key] = a
			}
			a.ints = a.ints || k.kind == model.KindInt
			a.floats = a.floats || k.kind == model.KindFloat
			if c.created < a.firstCreated || (c.created == a.firstCreated && k.kind < a.col.Type) {
				a.firstCreated, a.col.Type = c.created, k.kind
			}
			a.last = max(a.last, last)
		}
	}
	out := make([]store.Column, 0, len(by))
	for _, a := range by {
		if a.ints && a.floats && (a.col.Type == model.KindInt || a.col.Type == model.KindFloat) {
			// Numbers widen: a field sent as 0 and as 0.5 is a float
			// column, whichever came first (as Honeycomb types it).
			a.col.Type = model.KindFloat
		}
		a.col.CreatedAt = time.Unix(0, a.firstCreated).UTC()
		a.col.LastWritten = time.Unix(0, a.last).UTC()
		out = append(out, a.col)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyName < out[j].KeyName })
	return out
}

// keyStats counts, per environment, the events written since Open and how
// many of them carried each field: the density that decides whether a
// field gets its own column. Approximate by design (counted before the
// commit, reset by a restart); guarded by Store.wmu.
type keyStats struct {
	events int64
	keys   map[colKey]int64
}

// dense reports whether field k is on at least minDensity of the events
// counted, once at least minEvents were. A negative minDensity makes every
// field dense at once (a column per field from its first event).
func (ks *keyStats) dense(k colKey, minDensity float64, minEvents int64) bool {
	if minDensity < 0 {
		return true
	}
	if ks.events < minEvents || ks.events == 0 {
		return false
	}
	return float64(ks.keys[k]) >= minDensity*float64(ks.events)
}
