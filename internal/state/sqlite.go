package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

// FileName is the embedded store's database in the data directory.
const FileName = "state.db"

// FileStore is the embedded Store: one SQLite database (WAL journal, full
// fsync on commit) in the data directory. Several processes may open it at
// once (the server and the `tracecomb keys` commands): SQLite serialises
// their writes and every commit is durable before Put returns. Changes
// are recorded in a changes table that every open store polls
// (PollInterval), so Watch reports the writes of other processes too.
type FileStore struct {
	db   *sql.DB
	poll time.Duration

	mu       sync.Mutex
	closed   bool
	watchers map[chan Change]struct{}
	lastSeq  int64
	stop     chan struct{}
	done     chan struct{}
}

// PollInterval is how often a FileStore looks for other processes'
// changes.
const PollInterval = 200 * time.Millisecond

// keepChanges is how long the changes table remembers a change.
const keepChanges = 10 * time.Minute

var schema = []string{
	`CREATE TABLE IF NOT EXISTS records (
		kind TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
		value BLOB NOT NULL, version INTEGER NOT NULL, updated_ns INTEGER NOT NULL,
		PRIMARY KEY (kind, scope, key)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS changes (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		kind TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL, at_ns INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ns INTEGER NOT NULL)`,
}

// OpenFile opens (creating when missing) the embedded store in dir.
func OpenFile(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	for _, q := range schema {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return nil, fmt.Errorf("state: create schema in %s: %w", path, err)
		}
	}
	s := &FileStore{db: db, poll: PollInterval, watchers: map[chan Change]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.QueryRow(`SELECT coalesce(max(seq), 0) FROM changes`).Scan(&s.lastSeq); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: read %s: %w", path, err)
	}
	go s.pollLoop()
	return s, nil
}

var _ Store = (*FileStore)(nil)

// querier is what reads need: the database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func get(ctx context.Context, q querier, kind Kind, scope, key string) (Record, error) {
	r := Record{Kind: kind, Scope: scope, Key: key}
	var ns int64
	err := q.QueryRowContext(ctx, `SELECT value, version, updated_ns FROM records WHERE kind = ? AND scope = ? AND key = ?`,
		string(kind), scope, key).Scan(&r.Value, &r.Version, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("state: get %s %s/%s: %w", kind, scope, key, err)
	}
	r.Updated = time.Unix(0, ns).UTC()
	return r, nil
}

func list(ctx context.Context, q querier, kind Kind, scope *string) ([]Record, error) {
	query := `SELECT scope, key, value, version, updated_ns FROM records WHERE kind = ? ORDER BY scope, key`
	args := []any{string(kind)}
	if scope != nil {
		query = `SELECT scope, key, value, version, updated_ns FROM records WHERE kind = ? AND scope = ? ORDER BY key`
		args = append(args, *scope)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r := Record{Kind: kind}
		var ns int64
		if err := rows.Scan(&r.Scope, &r.Key, &r.Value, &r.Version, &ns); err != nil {
			return nil, fmt.Errorf("state: list %s: %w", kind, err)
		}
		r.Updated = time.Unix(0, ns).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

func keys(ctx context.Context, q querier, kind Kind, scope string) ([]string, error) {
	return firstKeys(ctx, q, kind, scope, -1)
}

// firstKeys returns the first n keys (all when n < 0).
func firstKeys(ctx context.Context, q querier, kind Kind, scope string, n int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key FROM records WHERE kind = ? AND scope = ? ORDER BY key LIMIT ?`, string(kind), scope, n)
	if err != nil {
		return nil, fmt.Errorf("state: keys %s: %w", kind, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("state: keys %s: %w", kind, err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Keys implements Store.
func (s *FileStore) Keys(ctx context.Context, kind Kind, scope string) ([]string, error) {
	return keys(ctx, s.db, kind, scope)
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, kind Kind, scope, key string) (Record, error) {
	return get(ctx, s.db, kind, scope, key)
}

// List implements Store.
func (s *FileStore) List(ctx context.Context, kind Kind, scope string) ([]Record, error) {
	return list(ctx, s.db, kind, &scope)
}

// ListAll implements Store.
func (s *FileStore) ListAll(ctx context.Context, kind Kind) ([]Record, error) {
	return list(ctx, s.db, kind, nil)
}

// Put implements Store.
func (s *FileStore) Put(ctx context.Context, r Record, ifVersion int64) (int64, error) {
	var v int64
	err := s.Update(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Put(r, ifVersion)
		return err
	})
	return v, err
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, kind Kind, scope, key string, ifVersion int64) error {
	return s.Update(ctx, func(tx Tx) error { return tx.Delete(kind, scope, key, ifVersion) })
}

// Update implements Store.
func (s *FileStore) Update(ctx context.Context, fn func(tx Tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil) // _txlock=immediate: the write lock is taken now
	if err != nil {
		return fmt.Errorf("state: begin: %w", err)
	}
	tx := &fileTx{ctx: ctx, tx: sqlTx, now: time.Now().UnixNano()}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("state: commit: %w", err)
	}
	return nil
}

type fileTx struct {
	ctx context.Context
	tx  *sql.Tx
	now int64
}

func (t *fileTx) Get(kind Kind, scope, key string) (Record, error) {
	return get(t.ctx, t.tx, kind, scope, key)
}

func (t *fileTx) List(kind Kind, scope string) ([]Record, error) {
	return list(t.ctx, t.tx, kind, &scope)
}

func (t *fileTx) Keys(kind Kind, scope string) ([]string, error) {
	return keys(t.ctx, t.tx, kind, scope)
}

func (t *fileTx) Count(kind Kind, scope string) (int, error) {
	var n int
	if err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM records WHERE kind = ? AND scope = ?`, string(kind), scope).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: count %s: %w", kind, err)
	}
	return n, nil
}

func (t *fileTx) FirstKeys(kind Kind, scope string, n int) ([]string, error) {
	return firstKeys(t.ctx, t.tx, kind, scope, max(n, 0))
}

// check compares the stored version with the expected one.
func (t *fileTx) check(kind Kind, scope, key string, ifVersion int64) (int64, error) {
	var cur int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT version FROM records WHERE kind = ? AND scope = ? AND key = ?`, string(kind), scope, key).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("state: read %s %s/%s: %w", kind, scope, key, err)
	}
	switch {
	case ifVersion == MustNotExist && cur != 0:
		return cur, ErrConflict
	case ifVersion > 0 && cur != ifVersion:
		return cur, ErrConflict
	}
	return cur, nil
}

func (t *fileTx) changed(kind Kind, scope, key string) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO changes (kind, scope, key, at_ns) VALUES (?, ?, ?, ?)`, string(kind), scope, key, t.now)
	return err
}

func (t *fileTx) Put(r Record, ifVersion int64) (int64, error) {
	if r.Kind == "" || r.Key == "" {
		return 0, fmt.Errorf("state: a record needs a kind and a key")
	}
	cur, err := t.check(r.Kind, r.Scope, r.Key, ifVersion)
	if err != nil {
		return 0, err
	}
	v := cur + 1
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO records (kind, scope, key, value, version, updated_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, scope, key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_ns = excluded.updated_ns`,
		string(r.Kind), r.Scope, r.Key, r.Value, v, t.now); err != nil {
		return 0, fmt.Errorf("state: put %s %s/%s: %w", r.Kind, r.Scope, r.Key, err)
	}
	return v, t.changed(r.Kind, r.Scope, r.Key)
}

func (t *fileTx) Delete(kind Kind, scope, key string, ifVersion int64) error {
	cur, err := t.check(kind, scope, key, ifVersion)
	if err != nil {
		return err
	}
	if cur == 0 {
		return ErrNotFound
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM records WHERE kind = ? AND scope = ? AND key = ?`, string(kind), scope, key); err != nil {
		return fmt.Errorf("state: delete %s %s/%s: %w", kind, scope, key, err)
	}
	return t.changed(kind, scope, key)
}

func (t *fileTx) DeleteScope(scope string, keep ...Kind) (int, error) {
	where := `scope = ?`
	args := []any{scope}
	if len(keep) > 0 {
		where += ` AND kind NOT IN (?` + strings.Repeat(`, ?`, len(keep)-1) + `)`
		for _, k := range keep {
			args = append(args, string(k))
		}
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO changes (kind, scope, key, at_ns) SELECT kind, scope, key, ? FROM records WHERE `+where,
		append([]any{t.now}, args...)...); err != nil {
		return 0, fmt.Errorf("state: delete scope %q: %w", scope, err)
	}
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM records WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("state: delete scope %q: %w", scope, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("state: delete scope %q: %w", scope, err)
	}
	return int(n), nil
}

// Acquire implements Store.
func (s *FileStore) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	got := false
	err := s.Update(ctx, func(tx Tx) error {
		t := tx.(*fileTx)
		var cur string
		var exp int64
		err := t.tx.QueryRowContext(ctx, `SELECT holder, expires_ns FROM leases WHERE name = ?`, name).Scan(&cur, &exp)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && cur != holder && exp > t.now {
			return nil // another holder's lease runs
		}
		_, err = t.tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_ns) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ns = excluded.expires_ns`, name, holder, t.now+int64(ttl))
		got = err == nil
		return err
	})
	return got, err
}

// Watch implements Store.
func (s *FileStore) Watch(ctx context.Context) <-chan Change {
	return watch(ctx, &s.mu, &s.closed, s.stop, s.watchers)
}

// pollLoop reads new changes (of every process) and hands them to the
// watchers; it also forgets old changes now and then.
func (s *FileStore) pollLoop() {
	defer close(s.done)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.deliver()
		if n%300 == 0 { // about once a minute
			_, _ = s.db.Exec(`DELETE FROM changes WHERE at_ns < ?`, time.Now().Add(-keepChanges).UnixNano())
		}
	}
}

func (s *FileStore) deliver() {
	const batch = 1000
	rows, err := s.db.Query(`SELECT seq, kind, scope, key FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, s.lastSeq, batch+1)
	if err != nil {
		return
	}
	var changes []Change
	var last int64
	for rows.Next() {
		var c Change
		var kind string
		if rows.Scan(&last, &kind, &c.Scope, &c.Key) != nil {
			break
		}
		c.Kind = Kind(kind)
		changes = append(changes, c)
	}
	rows.Close()
	if len(changes) == 0 {
		return
	}
	overflow := len(changes) > batch
	if overflow {
		// Too many to list: say "reload everything" and skip to the end.
		_ = s.db.QueryRow(`SELECT max(seq) FROM changes`).Scan(&last)
		changes = []Change{{}}
	}
	s.lastSeq = last
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.watchers {
		for _, c := range changes {
			select {
			case ch <- c:
			default: // a slow reader: tell it to reload everything
				select {
				case ch <- Change{}:
				default:
				}
			}
		}
	}
}

// Close implements Store.
func (s *FileStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	for ch := range s.watchers {
		delete(s.watchers, ch)
		close(ch)
	}
	s.mu.Unlock()
	return s.db.Close()
}
