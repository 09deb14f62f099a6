package duckdb

import (
	"maps"
	"sort"
	"strconv"
	"strings"
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

// dsCol is what a dataset knows about one of its fields.
type dsCol struct {
	created, last int64 // unix ns
}

type dsReg struct {
	id            int32
	name, slug    string
	created, last int64
	dirty, isNew  bool
	cols          map[colKey]dsCol
	newCols       []colKey // created by the write in progress
}

type envReg struct {
	id       int
	slug     string
	isNew    bool
	nextCol  int
	nextDS   int32
	attrs    map[colKey]*attrCol
	attrList []*attrCol // in creation order
	newAttrs []*attrCol // created by the write in progress
	byKey    map[string][]*attrCol
	overflow map[colKey]bool // fields kept in the overflow lists
	ovHas    [4]bool         // value types with a field in overflow (setOverflow)
	// keyIDs and keyNames number the keys of the overflow lists (the
	// lists hold ids, not names); shared between registry copies until a
	// write adds a key (copy on write, see keyID).
	keyIDs   map[string]int32
	keyNames map[int32]string
	keysOwn  bool              // keyIDs/keyNames belong to this copy
	newKeys  []string          // added by the write in progress
	datasets map[string]*dsReg // by lowercase name
	dsByID   map[int32]*dsReg
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
		keysOwn:  true,
		datasets: map[string]*dsReg{},
		dsByID:   map[int32]*dsReg{},
	}
}

func (e *envReg) eventsTable() string { return "events_" + strconv.Itoa(e.id) }

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

// clone copies everything a write may change.
func (r *registry) clone() *registry {
	c := &registry{nextEnv: r.nextEnv, envs: make(map[string]*envReg, len(r.envs))}
	for k, e := range r.envs {
		ne := *e
		ne.isNew = false
		ne.newAttrs = nil
		ne.newKeys = nil
		ne.keysOwn = false
		ne.attrs = maps.Clone(e.attrs)
		ne.attrList = e.attrList[:len(e.attrList):len(e.attrList)]
		ne.byKey = make(map[string][]*attrCol, len(e.byKey))
		for k, v := range e.byKey {
			ne.byKey[k] = v[:len(v):len(v)]
		}
		ne.overflow = maps.Clone(e.overflow)
		ne.datasets = make(map[string]*dsReg, len(e.datasets))
		ne.dsByID = make(map[int32]*dsReg, len(e.dsByID))
		for lk, d := range e.datasets {
			nd := *d
			nd.dirty, nd.isNew = false, false
			nd.newCols = nil
			nd.cols = maps.Clone(d.cols)
			ne.datasets[lk] = &nd
			ne.dsByID[nd.id] = &nd
		}
		c.envs[k] = &ne
	}
	return c
}

// env returns the environment, creating it in the registry when create is set.
func (r *registry) env(slug string, create bool) *envReg {
	if e := r.envs[slug]; e != nil || !create {
		return e
	}
	e := newEnvReg(r.nextEnv, slug)
	e.isNew = true
	r.nextEnv++
	r.envs[slug] = e
	return e
}

// dataset returns the dataset named name (case-insensitively), creating it.
func (e *envReg) dataset(name string, now int64) *dsReg {
	lk := strings.ToLower(name)
	if d := e.datasets[lk]; d != nil {
		return d
	}
	d := &dsReg{id: e.nextDS, name: name, slug: store.Slug(name), created: now, last: now,
		isNew: true, dirty: true, cols: map[colKey]dsCol{}}
	e.nextDS++
	e.datasets[lk] = d
	e.dsByID[d.id] = d
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
	a := &attrCol{id: e.nextCol, key: k.key, kind: k.kind, name: "a" + strconv.Itoa(e.nextCol), promoted: e.overflow[k]}
	e.nextCol++
	e.attrs[k] = a
	e.attrList = append(e.attrList, a)
	e.byKey[k.key] = append(e.byKey[k.key], a)
	e.newAttrs = append(e.newAttrs, a)
	return a
}

// setOverflow records that field k lives (also) in the overflow lists.
func (e *envReg) setOverflow(k colKey) {
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
	if !e.keysOwn {
		e.keyIDs, e.keyNames, e.keysOwn = maps.Clone(e.keyIDs), maps.Clone(e.keyNames), true
	}
	id := int32(len(e.keyIDs) + 1)
	e.keyIDs[key] = id
	e.keyNames[id] = key
	e.newKeys = append(e.newKeys, key)
	return id
}

// touch records that dataset d got field k at now.
func (d *dsReg) touch(k colKey, now int64) {
	c, ok := d.cols[k]
	if ok && c.last == now {
		return
	}
	if !ok {
		c.created = now
		d.newCols = append(d.newCols, k)
	}
	c.last = now
	d.cols[k] = c
}

// columns folds dataset columns into one store.Column per key: the type is
// the one first seen, created the earliest, last written the latest.
func columns(sets ...map[colKey]dsCol) []store.Column {
	type acc struct {
		col          store.Column
		firstCreated int64
		last         int64
	}
	by := map[string]*acc{}
	for _, set := range sets {
		for k, c := range set {
			a := by[k.key]
			if a == nil {
				by[k.key] = &acc{col: store.Column{KeyName: k.key, Type: k.kind}, firstCreated: c.created, last: c.last}
				continue
			}
			if c.created < a.firstCreated || (c.created == a.firstCreated && k.kind < a.col.Type) {
				a.firstCreated, a.col.Type = c.created, k.kind
			}
			a.last = max(a.last, c.last)
		}
	}
	out := make([]store.Column, 0, len(by))
	for _, a := range by {
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
