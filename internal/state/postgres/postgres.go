package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracecomb/tracecomb/internal/state"
)

// ErrUnavailable: the server could not be reached or the connection to it
// broke; the request may not have been carried out. Errors wrapping it are
// neither state.ErrConflict nor state.ErrNotFound.
var ErrUnavailable = errors.New("state: postgres unavailable")

// Config configures Open.
type Config struct {
	// URL is the database: postgres://user:password@host:port/db?sslmode=…
	// (or a keyword/value string); pool_max_conns and the other pgx pool
	// settings may be given in it.
	// Watch needs a session of its own (LISTEN): the URL names the
	// server, or a proxy that pools by session.
	URL string
	// Logger gets the listening connection's losses and recoveries.
	Logger *slog.Logger
	// MaxConns caps the connection pool (0: the URL's pool_max_conns,
	// else pgx's default, the larger of 4 and the number of CPUs). One more
	// connection listens for changes.
	MaxConns int32
	// ReconnectDelay is the first wait before the listening connection is
	// dialled again after it broke (doubling up to MaxReconnectDelay);
	// 0: 250ms.
	ReconnectDelay time.Duration
	// PingInterval: how long the listening connection may be silent
	// before it is checked (a server gone without closing it); 0: 15s.
	// The check (a ping) may take PingInterval or 1s, whichever is
	// longer.
	PingInterval time.Duration
}

// MaxReconnectDelay bounds the wait between two dials of the listening
// connection.
const MaxReconnectDelay = 5 * time.Second

// Store is a state.Store kept in PostgreSQL.
type Store struct {
	pool     *pgxpool.Pool
	listenCC *pgx.ConnConfig
	logger   *slog.Logger
	cfg      Config

	closed atomic.Bool
	cancel context.CancelFunc // stops the listener
	done   chan struct{}      // closed when the listener returned

	mu       sync.Mutex
	wclosed  bool
	watchers map[chan state.Change]struct{}
	stop     chan struct{} // closed by Close: ends every Watch
}

var _ state.Store = (*Store)(nil)

// Open connects to cfg.URL, creates or upgrades the schema, and starts
// listening for changes.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReconnectDelay <= 0 {
		cfg.ReconnectDelay = 250 * time.Millisecond
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 15 * time.Second
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("state: postgres: bad URL (want postgres://user:password@host:port/database): %w", err) // pgx redacts the password
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, wrap(ctx, "connect", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	listenCC := pcfg.ConnConfig.Copy()
	// A wait for notifications that times out only sets a deadline on the
	// socket (not pgx's default: a cancel request to the server, which
	// could land on the ping that follows); the connection stays usable.
	listenCC.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	s := &Store{pool: pool, listenCC: listenCC, logger: cfg.Logger, cfg: cfg,
		done: make(chan struct{}), watchers: map[chan state.Change]struct{}{}, stop: make(chan struct{})}
	conn, err := s.dialListener(ctx)
	if err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.listen(lctx, conn)
	return s, nil
}

// Close implements state.Store.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	<-s.done
	s.mu.Lock()
	s.wclosed = true
	close(s.stop)
	for ch := range s.watchers {
		delete(s.watchers, ch)
		close(ch)
	}
	s.mu.Unlock()
	s.pool.Close()
	return nil
}

// wrap names the operation and classifies err: a context that ended, a
// server out of reach (ErrUnavailable), a transaction the server ended for
// a deadlock or a serialisation failure (state.ErrConflict).
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("state: postgres %s: %w (%v)", op, cerr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("state: postgres %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "40001" || pgErr.Code == "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("state: postgres %s: %w: %w", op, state.ErrConflict, err)
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "08" || pgErr.Code[:2] == "53" || // connection exception, insufficient resources
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"): // shutdown, crash shutdown, cannot connect now
			return fmt.Errorf("state: postgres %s: %w: %w", op, ErrUnavailable, err)
		}
		return fmt.Errorf("state: postgres %s: %w", op, err)
	}
	// Not the server's answer: dialling, the network, a connection that
	// closed, or a pool already closed.
	return fmt.Errorf("state: postgres %s: %w: %w", op, ErrUnavailable, err)
}

// querier is what reads and writes need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const (
	qGet     = `SELECT value, version, updated FROM tracecomb_state_records WHERE kind = $1 AND scope = $2 AND key = $3`
	qList    = `SELECT scope, key, value, version, updated FROM tracecomb_state_records WHERE kind = $1 AND scope = $2 ORDER BY key`
	qListAll = `SELECT scope, key, value, version, updated FROM tracecomb_state_records WHERE kind = $1 ORDER BY scope, key`
	qKeys    = `SELECT key FROM tracecomb_state_records WHERE kind = $1 AND scope = $2 ORDER BY key`
	// In a transaction, reads lock what they return (forUpdate).
	forUpdate = ` FOR UPDATE`

	qPutAny = `INSERT INTO tracecomb_state_records AS r (kind, scope, key, value, version, updated)
		VALUES ($1, $2, $3, $4, 1, now())
		ON CONFLICT (kind, scope, key) DO UPDATE SET value = excluded.value, version = r.version + 1, updated = excluded.updated
		RETURNING version`
	qPutNew = `INSERT INTO tracecomb_state_records (kind, scope, key, value, version, updated)
		VALUES ($1, $2, $3, $4, 1, now())
		ON CONFLICT (kind, scope, key) DO NOTHING
		RETURNING version`
	qPutIf = `UPDATE tracecomb_state_records SET value = $4, version = version + 1, updated = now()
		WHERE kind = $1 AND scope = $2 AND key = $3 AND version = $5
		RETURNING version`
	// qDelete deletes under the version rule and reports whether it did
	// and, when not, the version stored (NULL: none), read in the same
	// snapshot.
	qDelete = `WITH d AS (
			DELETE FROM tracecomb_state_records
			WHERE kind = $1 AND scope = $2 AND key = $3 AND ($4::bigint = 0 OR version = $4::bigint)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM d),
			(SELECT version FROM tracecomb_state_records WHERE kind = $1 AND scope = $2 AND key = $3)`
	qExists      = `SELECT EXISTS (SELECT 1 FROM tracecomb_state_records WHERE kind = $1 AND scope = $2 AND key = $3)`
	qDeleteScope = `DELETE FROM tracecomb_state_records WHERE scope = $1 AND kind <> ALL ($2::text[])`
	qAcquire     = `INSERT INTO tracecomb_state_leases AS l (name, holder, expires)
		VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE l.holder = excluded.holder OR l.expires <= now()
		RETURNING true`
)

// storable reports whether PostgreSQL's text type can hold every one of
// ss: UTF-8 without NUL. A record named otherwise cannot be stored, so it
// is not found and cannot be written.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

var errName = errors.New("state: postgres: kinds, scopes, keys and lease names must be UTF-8 without NUL")

func get(ctx context.Context, q querier, lock bool, kind state.Kind, scope, key string) (state.Record, error) {
	if !storable(string(kind), scope, key) {
		return state.Record{}, state.ErrNotFound
	}
	sql := qGet
	if lock {
		sql += forUpdate
	}
	r := state.Record{Kind: kind, Scope: scope, Key: key}
	err := q.QueryRow(ctx, sql, string(kind), scope, key).Scan(&r.Value, &r.Version, &r.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Record{}, state.ErrNotFound
	}
	if err != nil {
		return state.Record{}, wrap(ctx, fmt.Sprintf("get %s %s/%s", kind, scope, key), err)
	}
	r.Updated = r.Updated.UTC()
	return r, nil
}

func list(ctx context.Context, q querier, lock bool, kind state.Kind, scope *string) ([]state.Record, error) {
	if !storable(string(kind)) || (scope != nil && !storable(*scope)) {
		return nil, nil
	}
	sql, args := qListAll, []any{string(kind)}
	if scope != nil {
		sql, args = qList, append(args, *scope)
	}
	if lock {
		sql += forUpdate
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(ctx, "list "+string(kind), err)
	}
	defer rows.Close()
	var out []state.Record
	for rows.Next() {
		r := state.Record{Kind: kind}
		if err := rows.Scan(&r.Scope, &r.Key, &r.Value, &r.Version, &r.Updated); err != nil {
			return nil, wrap(ctx, "list "+string(kind), err)
		}
		r.Updated = r.Updated.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "list "+string(kind), err)
	}
	return out, nil
}

func keys(ctx context.Context, q querier, lock bool, kind state.Kind, scope string) ([]string, error) {
	return firstKeys(ctx, q, lock, kind, scope, -1)
}

// firstKeys returns the first n keys (all when n < 0).
func firstKeys(ctx context.Context, q querier, lock bool, kind state.Kind, scope string, n int) ([]string, error) {
	if !storable(string(kind), scope) {
		return nil, nil
	}
	sql := qKeys
	args := []any{string(kind), scope}
	if n >= 0 {
		sql += ` LIMIT $3`
		args = append(args, n)
	}
	if lock {
		sql += forUpdate
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(ctx, "keys "+string(kind), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(ctx, "keys "+string(kind), err)
	}
	return out, nil
}

func put(ctx context.Context, q querier, r state.Record, ifVersion int64) (int64, error) {
	if r.Kind == "" || r.Key == "" {
		return 0, errors.New("state: a record needs a kind and a key")
	}
	if !storable(string(r.Kind), r.Scope, r.Key) {
		return 0, errName
	}
	value := r.Value
	if value == nil {
		value = []byte{}
	}
	var row pgx.Row
	switch {
	case ifVersion == state.AnyVersion:
		row = q.QueryRow(ctx, qPutAny, string(r.Kind), r.Scope, r.Key, value)
	case ifVersion < 0: // MustNotExist
		row = q.QueryRow(ctx, qPutNew, string(r.Kind), r.Scope, r.Key, value)
	default:
		row = q.QueryRow(ctx, qPutIf, string(r.Kind), r.Scope, r.Key, value, ifVersion)
	}
	var v int64
	err := row.Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, state.ErrConflict
	}
	if err != nil {
		return 0, wrap(ctx, fmt.Sprintf("put %s %s/%s", r.Kind, r.Scope, r.Key), err)
	}
	return v, nil
}

func del(ctx context.Context, q querier, kind state.Kind, scope, key string, ifVersion int64) error {
	if !storable(string(kind), scope, key) {
		return state.ErrNotFound
	}
	op := fmt.Sprintf("delete %s %s/%s", kind, scope, key)
	if ifVersion < 0 { // MustNotExist: nothing to delete either way
		var exists bool
		if err := q.QueryRow(ctx, qExists, string(kind), scope, key).Scan(&exists); err != nil {
			return wrap(ctx, op, err)
		}
		if exists {
			return state.ErrConflict
		}
		return state.ErrNotFound
	}
	var deleted bool
	var cur *int64
	if err := q.QueryRow(ctx, qDelete, string(kind), scope, key, ifVersion).Scan(&deleted, &cur); err != nil {
		return wrap(ctx, op, err)
	}
	switch {
	case deleted:
		return nil
	case cur == nil:
		return state.ErrNotFound
	default:
		return state.ErrConflict
	}
}

func (s *Store) check() error {
	if s.closed.Load() {
		return state.ErrClosed
	}
	return nil
}

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, kind state.Kind, scope, key string) (state.Record, error) {
	if err := s.check(); err != nil {
		return state.Record{}, err
	}
	return get(ctx, s.pool, false, kind, scope, key)
}

// List implements state.Store.
func (s *Store) List(ctx context.Context, kind state.Kind, scope string) ([]state.Record, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return list(ctx, s.pool, false, kind, &scope)
}

// ListAll implements state.Store.
func (s *Store) ListAll(ctx context.Context, kind state.Kind) ([]state.Record, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return list(ctx, s.pool, false, kind, nil)
}

// Keys implements state.Store.
func (s *Store) Keys(ctx context.Context, kind state.Kind, scope string) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return keys(ctx, s.pool, false, kind, scope)
}

// Put implements state.Store: one statement, its own transaction.
func (s *Store) Put(ctx context.Context, r state.Record, ifVersion int64) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	return put(ctx, s.pool, r, ifVersion)
}

// Delete implements state.Store: one statement, its own transaction.
func (s *Store) Delete(ctx context.Context, kind state.Kind, scope, key string, ifVersion int64) error {
	if err := s.check(); err != nil {
		return err
	}
	return del(ctx, s.pool, kind, scope, key, ifVersion)
}

// Update implements state.Store: fn runs once, in a READ COMMITTED
// transaction whose reads lock the rows they return until it ends.
func (s *Store) Update(ctx context.Context, fn func(tx state.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}) // whatever the server's default
	if err != nil {
		return wrap(ctx, "begin", err)
	}
	// Rolled back unless committed, fn's panic included (a no-op after
	// Commit); on failure pgx closes the connection, which rolls back too.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = ptx.Rollback(rctx)
		cancel()
	}()
	if err := fn(&tx{ctx: ctx, tx: ptx}); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return wrap(ctx, "commit", err)
	}
	return nil
}

// tx is a transaction of Update.
type tx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t *tx) Get(kind state.Kind, scope, key string) (state.Record, error) {
	return get(t.ctx, t.tx, true, kind, scope, key)
}

func (t *tx) List(kind state.Kind, scope string) ([]state.Record, error) {
	return list(t.ctx, t.tx, true, kind, &scope)
}

func (t *tx) Keys(kind state.Kind, scope string) ([]string, error) {
	return keys(t.ctx, t.tx, true, kind, scope)
}

// Count locks the rows it counts, as Keys does (FOR UPDATE is not allowed
// with an aggregate, so the lock is taken in a subquery).
func (t *tx) Count(kind state.Kind, scope string) (int, error) {
	if !storable(string(kind), scope) {
		return 0, nil
	}
	var n int
	if err := t.tx.QueryRow(t.ctx, `SELECT count(*) FROM (`+qKeys+forUpdate+`) AS k`, string(kind), scope).Scan(&n); err != nil {
		return 0, wrap(t.ctx, "count "+string(kind), err)
	}
	return n, nil
}

func (t *tx) FirstKeys(kind state.Kind, scope string, n int) ([]string, error) {
	return firstKeys(t.ctx, t.tx, true, kind, scope, max(n, 0))
}

func (t *tx) Put(r state.Record, ifVersion int64) (int64, error) {
	return put(t.ctx, t.tx, r, ifVersion)
}

func (t *tx) Delete(kind state.Kind, scope, key string, ifVersion int64) error {
	return del(t.ctx, t.tx, kind, scope, key, ifVersion)
}

// DeleteScope deletes in one statement; the row trigger tells watchers of
// each record.
func (t *tx) DeleteScope(scope string, keep ...state.Kind) (int, error) {
	if !storable(scope) {
		return 0, nil
	}
	ks := make([]string, 0, len(keep))
	for _, k := range keep {
		if storable(string(k)) { // others cannot be stored
			ks = append(ks, string(k))
		}
	}
	tag, err := t.tx.Exec(t.ctx, qDeleteScope, scope, ks)
	if err != nil {
		return 0, wrap(t.ctx, fmt.Sprintf("delete scope %q", scope), err)
	}
	return int(tag.RowsAffected()), nil
}

// Acquire implements state.Store in one statement: the lease is taken
// when none is stored, when holder has it, or when it expired by the
// server's clock.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	if !storable(name, holder) {
		return false, errName
	}
	us := ttl.Microseconds()
	if us < 1 {
		us = 1
	}
	var got bool
	err := s.pool.QueryRow(ctx, qAcquire, name, holder, us).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another holder's lease runs
	}
	if err != nil {
		return false, wrap(ctx, "acquire "+name, err)
	}
	return got, nil
}
