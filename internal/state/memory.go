package state

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// MemoryStore is a Store in memory, for tests and for a server that keeps
// nothing: every handle is the store itself, so Watch sees all its
// writes. It passes the same conformance suite as FileStore.
type MemoryStore struct {
	writeMu sync.Mutex // one Update at a time

	mu       sync.RWMutex
	records  map[recordKey]Record
	leases   map[string]memLease
	watchers map[chan Change]struct{}
	closed   bool
	stop     chan struct{} // closed by Close
}

type recordKey struct {
	kind       Kind
	scope, key string
}

type memLease struct {
	holder  string
	expires time.Time
}

// NewMemory returns an empty MemoryStore.
func NewMemory() *MemoryStore {
	return &MemoryStore{records: map[recordKey]Record{}, leases: map[string]memLease{}, watchers: map[chan Change]struct{}{}, stop: make(chan struct{})}
}

var _ Store = (*MemoryStore)(nil)

func cloneRecord(r Record) Record {
	r.Value = bytes.Clone(r.Value)
	return r
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, kind Kind, scope, key string) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Record{}, ErrClosed
	}
	r, ok := s.records[recordKey{kind, scope, key}]
	if !ok {
		return Record{}, ErrNotFound
	}
	return cloneRecord(r), nil
}

// selectRecords returns the records of kind (in scope when scope is not
// nil) from base with the writes of a transaction laid over, ordered by
// scope and key.
func selectRecords(base map[recordKey]Record, writes map[recordKey]*Record, kind Kind, scope *string) []Record {
	var out []Record
	match := func(k recordKey) bool { return k.kind == kind && (scope == nil || k.scope == *scope) }
	for k, r := range base {
		if _, over := writes[k]; !over && match(k) {
			out = append(out, cloneRecord(r))
		}
	}
	for k, r := range writes {
		if r != nil && match(k) {
			out = append(out, cloneRecord(*r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (s *MemoryStore) read(fn func()) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	fn()
	return nil
}

// List implements Store.
func (s *MemoryStore) List(_ context.Context, kind Kind, scope string) ([]Record, error) {
	var out []Record
	err := s.read(func() { out = selectRecords(s.records, nil, kind, &scope) })
	return out, err
}

// ListAll implements Store.
func (s *MemoryStore) ListAll(_ context.Context, kind Kind) ([]Record, error) {
	var out []Record
	err := s.read(func() { out = selectRecords(s.records, nil, kind, nil) })
	return out, err
}

func recordKeys(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

// Keys implements Store.
func (s *MemoryStore) Keys(ctx context.Context, kind Kind, scope string) ([]string, error) {
	rs, err := s.List(ctx, kind, scope)
	return recordKeys(rs), err
}

// Put implements Store.
func (s *MemoryStore) Put(ctx context.Context, r Record, ifVersion int64) (int64, error) {
	var v int64
	err := s.Update(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Put(r, ifVersion)
		return err
	})
	return v, err
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, kind Kind, scope, key string, ifVersion int64) error {
	return s.Update(ctx, func(tx Tx) error { return tx.Delete(kind, scope, key, ifVersion) })
}

// memTx collects a transaction's writes (nil: deleted) over the store's
// records; they are applied together when fn returns nil.
type memTx struct {
	s      *MemoryStore
	now    time.Time
	writes map[recordKey]*Record
	order  []recordKey
}

// Update implements Store.
func (s *MemoryStore) Update(ctx context.Context, fn func(tx Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.read(func() {}); err != nil {
		return err
	}
	tx := &memTx{s: s, now: time.Now().UTC(), writes: map[recordKey]*Record{}}
	if err := fn(tx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, k := range tx.order {
		if r := tx.writes[k]; r != nil {
			s.records[k] = *r
		} else {
			delete(s.records, k)
		}
		s.notify(Change{Kind: k.kind, Scope: k.scope, Key: k.key})
	}
	return nil
}

// notify hands c to every watcher; a full channel gets "reload
// everything" when there is room for it. Called with s.mu held.
func (s *MemoryStore) notify(c Change) {
	for ch := range s.watchers {
		select {
		case ch <- c:
		default:
			select {
			case ch <- Change{}:
			default:
			}
		}
	}
}

func (t *memTx) current(k recordKey) (Record, bool) {
	if r, over := t.writes[k]; over {
		if r == nil {
			return Record{}, false
		}
		return *r, true
	}
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	r, ok := t.s.records[k]
	return r, ok
}

func (t *memTx) Get(kind Kind, scope, key string) (Record, error) {
	r, ok := t.current(recordKey{kind, scope, key})
	if !ok {
		return Record{}, ErrNotFound
	}
	return cloneRecord(r), nil
}

func (t *memTx) List(kind Kind, scope string) ([]Record, error) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return selectRecords(t.s.records, t.writes, kind, &scope), nil
}

func (t *memTx) Keys(kind Kind, scope string) ([]string, error) {
	rs, err := t.List(kind, scope)
	return recordKeys(rs), err
}

func (t *memTx) Count(kind Kind, scope string) (int, error) {
	rs, err := t.List(kind, scope)
	return len(rs), err
}

func (t *memTx) FirstKeys(kind Kind, scope string, n int) ([]string, error) {
	rs, err := t.List(kind, scope)
	return recordKeys(rs[:max(0, min(n, len(rs)))]), err
}

// check compares the current version with the expected one.
func (t *memTx) check(k recordKey, ifVersion int64) (int64, error) {
	var cur int64
	if r, ok := t.current(k); ok {
		cur = r.Version
	}
	switch {
	case ifVersion == MustNotExist && cur != 0:
		return cur, ErrConflict
	case ifVersion > 0 && cur != ifVersion:
		return cur, ErrConflict
	}
	return cur, nil
}

func (t *memTx) write(k recordKey, r *Record) {
	if _, seen := t.writes[k]; !seen {
		t.order = append(t.order, k)
	}
	t.writes[k] = r
}

func (t *memTx) Put(r Record, ifVersion int64) (int64, error) {
	if r.Kind == "" || r.Key == "" {
		return 0, fmt.Errorf("state: a record needs a kind and a key")
	}
	k := recordKey{r.Kind, r.Scope, r.Key}
	cur, err := t.check(k, ifVersion)
	if err != nil {
		return 0, err
	}
	stored := Record{Kind: r.Kind, Scope: r.Scope, Key: r.Key, Value: bytes.Clone(r.Value), Version: cur + 1, Updated: t.now}
	t.write(k, &stored)
	return stored.Version, nil
}

func (t *memTx) Delete(kind Kind, scope, key string, ifVersion int64) error {
	k := recordKey{kind, scope, key}
	cur, err := t.check(k, ifVersion)
	if err != nil {
		return err
	}
	if cur == 0 {
		return ErrNotFound
	}
	t.write(k, nil)
	return nil
}

func (t *memTx) DeleteScope(scope string, keep ...Kind) (int, error) {
	match := func(k recordKey) bool { return k.scope == scope && !slices.Contains(keep, k.kind) }
	var doomed []recordKey
	t.s.mu.RLock()
	for k := range t.s.records {
		if _, over := t.writes[k]; !over && match(k) {
			doomed = append(doomed, k)
		}
	}
	t.s.mu.RUnlock()
	for k, r := range t.writes {
		if r != nil && match(k) {
			doomed = append(doomed, k)
		}
	}
	slices.SortFunc(doomed, func(a, b recordKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.key, b.key))
	})
	for _, k := range doomed {
		t.write(k, nil)
	}
	return len(doomed), nil
}

// Acquire implements Store.
func (s *MemoryStore) Acquire(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	now := time.Now()
	if l, ok := s.leases[name]; ok && l.holder != holder && l.expires.After(now) {
		return false, nil
	}
	s.leases[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// Watch implements Store.
func (s *MemoryStore) Watch(ctx context.Context) <-chan Change {
	return watch(ctx, &s.mu, &s.closed, s.stop, s.watchers)
}

// Close implements Store: the store ends, its watchers' channels close.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.stop)
	for ch := range s.watchers {
		delete(s.watchers, ch)
		close(ch)
	}
	return nil
}
