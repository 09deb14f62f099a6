package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// handle is one open DuckDB instance of the store's file. The store
// replaces its handle to swap in a compacted file (retention) and to
// recover a database DuckDB invalidated (a failed checkpoint, a full
// disk): close, open again, replay the WAL. Readers hold a reference
// while they query (acquire); a swap stops new readers (they wait for the
// new handle), lets the current ones finish for up to drainWait, then
// cancels their queries, and only opens the file again once every
// connection of the old instance is closed: two DuckDB instances must
// never have the file open at once.
type handle struct {
	db       *sql.DB
	readOnly bool
	// ctx is cancelled to force readers off when the handle closes.
	ctx    context.Context
	cancel context.CancelFunc
	// refs and closing are guarded by Store.hmu; drained is closed when
	// closing is set and refs is zero.
	refs    int
	closing bool
	drained chan struct{}
	// stmts are the prepared statements of the hot reads, by their text.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// maxHandleStmts is the most prepared statements a handle keeps.
const maxHandleStmts = 256

// query runs a read statement through a prepared statement kept on the
// handle (preparing is about half of a small statement's fixed cost
// through database/sql: ~80 of ~165 µs for SELECT 1), or, once
// maxHandleStmts are kept, directly. DuckDB binds a prepared statement
// again when the catalog changed since (a column added to the table).
func (h *handle) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := h.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return h.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// stmt returns the handle's prepared statement of query, preparing it the
// first time; nil when the handle keeps no more.
func (h *handle) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	h.stmtMu.Lock()
	st, full := h.stmts[query], len(h.stmts) >= maxHandleStmts
	h.stmtMu.Unlock()
	if st != nil || full {
		return st, nil
	}
	st, err := h.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	h.stmtMu.Lock()
	defer h.stmtMu.Unlock()
	if prev := h.stmts[query]; prev != nil {
		_ = st.Close()
		return prev, nil
	}
	if h.stmts == nil {
		h.stmts = map[string]*sql.Stmt{}
	}
	h.stmts[query] = st
	return st, nil
}

// drainWait is how long a swap lets readers of the old handle finish
// before it cancels their queries.
const drainWait = 2 * time.Second

// openHandle opens the file, read-only when readOnly is set, and applies
// the store's settings.
func (s *Store) openHandle(ctx context.Context, readOnly bool) (*handle, error) {
	dsn := s.cfg.Path
	if readOnly {
		dsn += "?access_mode=read_only"
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb store: open %s: %w", s.cfg.Path, err)
	}
	h := &handle{db: sql.OpenDB(connector), readOnly: readOnly, drained: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	settings := []string{}
	if s.cfg.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET GLOBAL threads = %d", s.cfg.Threads))
	}
	if s.cfg.MemoryLimit != "" {
		settings = append(settings, "SET GLOBAL memory_limit = '"+escapeLiteral(s.cfg.MemoryLimit)+"'")
	}
	if s.cfg.DisabledCompression != "none" {
		settings = append(settings, "SET GLOBAL disabled_compression_methods = '"+escapeLiteral(s.cfg.DisabledCompression)+"'")
	}
	if s.cfg.CheckpointThreshold != "" && !readOnly {
		settings = append(settings, "SET GLOBAL checkpoint_threshold = '"+escapeLiteral(s.cfg.CheckpointThreshold)+"'")
	}
	for _, q := range settings {
		if _, err := h.db.ExecContext(ctx, q); err != nil {
			h.close()
			return nil, fmt.Errorf("duckdb store: %s: %w", q, err)
		}
	}
	return h, nil
}

// close closes the instance; callers made sure no connection is in use.
func (h *handle) close() error {
	h.cancel()
	h.stmtMu.Lock()
	for _, st := range h.stmts {
		_ = st.Close()
	}
	h.stmts = nil
	h.stmtMu.Unlock()
	return h.db.Close()
}

// acquire returns the current handle with a reference held, waiting while
// a swap is in progress. release gives the reference back.
func (s *Store) acquire(ctx context.Context) (*handle, error) {
	for {
		s.hmu.Lock()
		h, swapped := s.h, s.swapped
		if h != nil && !h.closing {
			h.refs++
			s.hmu.Unlock()
			return h, nil
		}
		s.hmu.Unlock()
		if s.closed.Load() {
			return nil, ErrClosed
		}
		select {
		case <-swapped:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Store) release(h *handle) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	h.refs--
	if h.refs == 0 && h.closing {
		close(h.drained)
	}
}

// reader acquires the current handle for a read: qctx ends when ctx ends
// or when a swap forces readers off; done releases both.
func (s *Store) reader(ctx context.Context) (h *handle, qctx context.Context, done func(), err error) {
	if s.closed.Load() {
		return nil, nil, nil, ErrClosed
	}
	h, err = s.acquire(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	qctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.ctx, cancel)
	return h, qctx, func() { stop(); cancel(); s.release(h) }, nil
}

// retire stops readers from taking h and waits until none of its
// connections is in use: for drainWait it lets them finish, then cancels
// their queries (database/sql closes the rows of a cancelled query, which
// gives the connection back even when the reader holding it is paused).
// Callers hold wmu and flushMu and have closed the write connection.
func (s *Store) retire(h *handle) error {
	s.hmu.Lock()
	h.closing = true
	if h.refs == 0 {
		close(h.drained)
	}
	s.hmu.Unlock()
	select {
	case <-h.drained:
	case <-time.After(drainWait):
		h.cancel()
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.db.Stats().InUse > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("duckdb store: %d connections still in use after cancelling their queries", h.db.Stats().InUse)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return h.close()
}

// publish makes h the current handle and wakes the readers waiting for
// one. Callers hold wmu.
func (s *Store) publish(h *handle) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	s.h = h
	s.db = h.db
	close(s.swapped)
	s.swapped = make(chan struct{})
}

// withConn runs fn on a connection of the current handle, outside the
// write connection. Callers hold flushMu or wmu (so no swap runs).
func (s *Store) withConn(ctx context.Context, fn func(driverConn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return fn(c)
	})
}
