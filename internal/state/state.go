// Package state owns everything of tracecomb that is not telemetry:
// environments and keys, X-Ray groups, sampling rules, tags, policies and
// the statistics that share reservoirs, markers, saved queries and
// results, and what configuration adds (dataset settings, derived columns,
// triggers, SLOs, recipients, boards). It stores them as versioned JSON
// records behind one interface, Store, with a conformance suite
// (statetest) that every implementation passes: the embedded one
// (OpenFile, an SQLite database in the data directory that the server and
// the `tracecomb keys` commands share), one in memory (NewMemory), and any
// that several tracecomb nodes share. Its users keep their own typed models and read and write
// them here; Watch tells every process and node of a change within a
// second, which is how a key revoked anywhere stops working everywhere.
package state

import (
	"context"
	"errors"
	"time"
)

// Errors.
var (
	// ErrNotFound: no record under the key.
	ErrNotFound = errors.New("state: not found")
	// ErrConflict: the record's version is not the one the write expected
	// (or a record exists where none was expected).
	ErrConflict = errors.New("state: version conflict")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("state: closed")
)

// Kind names a kind of record (keys, markers, sampling rules, …); each
// user of the store owns its kinds.
type Kind string

// Record is one stored value: Value is the user's JSON document, Scope an
// environment slug ("" for what belongs to the team), Key unique within
// kind and scope.
type Record struct {
	Kind    Kind
	Scope   string
	Key     string
	Value   []byte
	Version int64     // set by the store: 1 on creation, +1 on each change
	Updated time.Time // set by the store
}

// Version expectations for Put and Delete.
const (
	// AnyVersion writes whatever is stored.
	AnyVersion int64 = 0
	// MustNotExist writes only when no record is stored (create).
	MustNotExist int64 = -1
)

// Change says that a record was written or deleted.
type Change struct {
	Kind  Kind
	Scope string
	Key   string
}

// Store is the state of one team.
type Store interface {
	// Get returns the record, or ErrNotFound.
	Get(ctx context.Context, kind Kind, scope, key string) (Record, error)
	// List returns the records of a kind in a scope, ordered by key.
	List(ctx context.Context, kind Kind, scope string) ([]Record, error)
	// ListAll returns the records of a kind in every scope, ordered by
	// scope and key.
	ListAll(ctx context.Context, kind Kind) ([]Record, error)
	// Keys returns the keys of a kind in a scope, ordered, without their
	// values: for counting and pruning records that may be large.
	Keys(ctx context.Context, kind Kind, scope string) ([]string, error)
	// Put writes r.Value under (r.Kind, r.Scope, r.Key) when the stored
	// version is ifVersion (AnyVersion: any; MustNotExist: none), and
	// returns the new version; ErrConflict otherwise.
	Put(ctx context.Context, r Record, ifVersion int64) (int64, error)
	// Delete removes a record under the same version rule; deleting what
	// is not there is ErrNotFound.
	Delete(ctx context.Context, kind Kind, scope, key string, ifVersion int64) error
	// Update runs fn in one transaction: everything it writes commits
	// together, or nothing (fn's error is returned). Reads in fn see the
	// transaction's own writes.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Watch returns a channel of changes made by any process or node from
	// now on, delivered within a second, until ctx ends. A slow reader
	// may miss changes of a burst; it then gets one Change with empty
	// Kind, meaning "reload everything".
	Watch(ctx context.Context) <-chan Change
	// Acquire takes or renews the lease name for holder until ttl from
	// now, and reports whether holder has it (another holder's unexpired
	// lease wins). One node evaluates a trigger this way.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Close releases the store; safe to call twice.
	Close() error
}

// Tx is a transaction of Update.
type Tx interface {
	Get(kind Kind, scope, key string) (Record, error)
	List(kind Kind, scope string) ([]Record, error)
	Keys(kind Kind, scope string) ([]string, error)
	// Count is len(Keys(kind, scope)) without reading the keys: the
	// check of a per-scope limit.
	Count(kind Kind, scope string) (int, error)
	// FirstKeys is the first n of Keys(kind, scope) (all when fewer):
	// pruning the oldest of records keyed in time order.
	FirstKeys(kind Kind, scope string, n int) ([]string, error)
	Put(r Record, ifVersion int64) (int64, error)
	Delete(kind Kind, scope, key string, ifVersion int64) error
	// DeleteScope deletes every record of scope (of every kind but those
	// in keep, and this transaction's own writes too) and returns how
	// many it deleted; watchers are told of each as of a Delete. Leases
	// are not records: it leaves them.
	DeleteScope(scope string, keep ...Kind) (int, error)
}
