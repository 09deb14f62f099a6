package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The trace index (traces_N_B) answers "where in time, and in which
// datasets, are this trace's events", so Trace reads only the events
// table's row groups around them. Appending a few rows to each of
// tracesBuckets tables in every commit cost 15% of ingest CPU (an
// Appender flush has a fixed cost of ~1 ms), so a commit's index rows stay
// in memory (traceIndex) and reach the tables in bulk, inside the commit
// that brings the pending rows past Config.TraceIndexFlushRows, or on
// Close. Every event carries the sequence number of the Write that stored
// it (events_N.wseq; one value per write, so it compresses to nothing) and
// trace_index_state records up to which sequence the tables are complete;
// Open rebuilds the rows of later writes from the events themselves, so a
// crash loses no index rows.

// traceRow is one trace's time range and dataset in one Write.
type traceRow struct {
	tk     traceKey
	ds     int32 // 0: several datasets
	lo, hi int64
}

// traceIndex holds the index rows not yet in the tables, per environment
// id. Writers change it under mu while they hold pubMu (after their
// COMMIT); readers read it under mu while they hold pubMu's read side,
// before querying the tables.
type traceIndex struct {
	mu      sync.Mutex
	pending map[int]*[tracesBuckets][]traceRow
	counts  map[int]int
	// filters are the Bloom filters of the environments' indexed trace
	// ids, for those whose filter was loaded (tracefilter.go).
	filters map[int]*traceFilter
}

func newTraceIndex() traceIndex {
	return traceIndex{pending: map[int]*[tracesBuckets][]traceRow{}, counts: map[int]int{}, filters: map[int]*traceFilter{}}
}

// loaded reports whether env's trace filter is loaded.
func (ix *traceIndex) loaded(env int) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.filters[env] != nil
}

// loadFilter makes env's trace filter from tables, the trace ids of its
// index tables, and its pending rows.
func (ix *traceIndex) loadFilter(env int, tables []traceKey) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	f := &traceFilter{}
	for _, tk := range tables {
		f.add(tk)
	}
	if p := ix.pending[env]; p != nil {
		for b := range p {
			for _, r := range p[b] {
				f.add(r.tk)
			}
		}
	}
	ix.filters[env] = f
}

// dropFilters forgets every trace filter (a Write failed: what it left in
// the database is not known for sure).
func (ix *traceIndex) dropFilters() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	clear(ix.filters)
}

// mayHave calls keep with each trace of tks that env's loaded trace
// filter may hold.
func (ix *traceIndex) mayHave(env int, tks map[traceKey]struct{}, keep func(traceKey)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	f := ix.filters[env]
	for tk := range tks {
		if f == nil || f.mayHave(tk) {
			keep(tk)
		}
	}
}

// lookup folds the pending rows of a trace into r (lo/hi/ds bounds) and
// reports whether there were any.
func (ix *traceIndex) lookup(env int, tk traceKey) (traceRow, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	p := ix.pending[env]
	if p == nil {
		return traceRow{}, false
	}
	var out traceRow
	found := false
	for _, r := range p[traceBucket(tk)] {
		if r.tk != tk {
			continue
		}
		if !found {
			out, found = r, true
			continue
		}
		out.lo, out.hi = min(out.lo, r.lo), max(out.hi, r.hi)
		if out.ds != r.ds {
			out.ds = 0
		}
	}
	return out, found
}

// lookupAll calls fn with every pending row of env whose trace is in
// traces: one pass over the pending rows however many traces are asked.
func (ix *traceIndex) lookupAll(env int, traces map[traceKey]struct{}, fn func(traceRow)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	p := ix.pending[env]
	if p == nil {
		return
	}
	for b := range p {
		for _, r := range p[b] {
			if _, ok := traces[r.tk]; ok {
				fn(r)
			}
		}
	}
}

// reset drops every pending row (Open rebuilds them from the events).
func (ix *traceIndex) reset() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.pending = map[int]*[tracesBuckets][]traceRow{}
	ix.counts = map[int]int{}
	ix.filters = map[int]*traceFilter{}
}

// add records a committed write's rows (flushed: the tables now hold every
// pending row of env, so the buffer starts again from rows = nil).
func (ix *traceIndex) add(env int, rows *[tracesBuckets][]traceRow, flushed bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if f := ix.filters[env]; f != nil && rows != nil {
		for b := range rows {
			for _, r := range rows[b] {
				f.add(r.tk)
			}
		}
	}
	if flushed {
		delete(ix.pending, env)
		delete(ix.counts, env)
		return
	}
	p := ix.pending[env]
	if p == nil {
		p = new([tracesBuckets][]traceRow)
		ix.pending[env] = p
	}
	for b := range rows {
		p[b] = append(p[b], rows[b]...)
		ix.counts[env] += len(rows[b])
	}
}

// pendingRows is how many rows of env are pending.
func (ix *traceIndex) pendingRows(env int) int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.counts[env]
}

// snapshot returns the pending rows of env merged with rows, and how many.
func (ix *traceIndex) snapshot(env int, rows *[tracesBuckets][]traceRow) (*[tracesBuckets][]traceRow, int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	all := new([tracesBuckets][]traceRow)
	n := 0
	p := ix.pending[env]
	for b := range all {
		if p != nil {
			all[b] = append(all[b], p[b]...)
		}
		all[b] = append(all[b], rows[b]...)
		n += len(all[b])
	}
	return all, n
}

// traceRows computes a write's index rows from its items, which byTrace
// ordered by trace: one row per trace, with its dataset when all the
// trace's events of the write are in one, else 0.
func traceRows(items []item) *[tracesBuckets][]traceRow {
	out := new([tracesBuckets][]traceRow)
	for i := 0; i < len(items); {
		tid := items[i].ev.TraceID
		r := traceRow{tk: splitTrace(tid), ds: items[i].ds.id}
		j := i
		for ; j < len(items) && items[j].ev.TraceID == tid; j++ {
			var ts int64
			if t := items[j].ev.Time; !t.IsZero() {
				ts = t.UnixNano()
			}
			if j == i {
				r.lo, r.hi = ts, ts
			}
			r.lo, r.hi = min(r.lo, ts), max(r.hi, ts)
			if items[j].ds.id != r.ds {
				r.ds = 0
			}
		}
		b := traceBucket(r.tk)
		out[b] = append(out[b], r)
		i = j
	}
	return out
}

// flushIndex appends rows to the bucket tables and records seq as indexed,
// inside the caller's transaction.
func flushIndex(ctx context.Context, conn driverConn, e *envReg, rows *[tracesBuckets][]traceRow, seq int64) error {
	for b := range rows {
		if len(rows[b]) == 0 {
			continue
		}
		err := appendRows(conn, e.tracesTable(b), func(app *duckdb.Appender) error {
			for _, r := range rows[b] {
				if err := app.AppendRow(r.tk.hi, r.tk.lo, r.lo, r.hi, r.ds); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return setIndexed(ctx, conn, e.id, seq)
}

func setIndexed(ctx context.Context, conn driverConn, env int, seq int64) error {
	id := strconv.Itoa(env)
	if _, err := conn.ExecContext(ctx, `DELETE FROM trace_index_state WHERE env = `+id, nil); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO trace_index_state VALUES (`+id+`, `+strconv.FormatInt(seq, 10)+`)`, nil)
	return err
}

// recoverIndex runs at Open: it sets the next write sequence and rebuilds
// the index rows of writes after each environment's indexed sequence
// (pending in memory when the process stopped) from the events, into the
// index tables, or (write unset: a read-only open) into memory.
func (s *Store) recoverIndex(ctx context.Context, reg *registry, write bool) error {
	for _, e := range reg.envs {
		var maxSeq sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT max(wseq) FROM `+e.eventsTable()).Scan(&maxSeq); err != nil {
			return err
		}
		s.wseq = max(s.wseq, maxSeq.Int64)
		var indexed sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT max(wseq) FROM trace_index_state WHERE env = ?`, e.id).Scan(&indexed); err != nil {
			return err
		}
		if maxSeq.Int64 <= indexed.Int64 {
			continue
		}
		if !write {
			if err := s.pendingFromEvents(ctx, e, indexed.Int64); err != nil {
				return fmt.Errorf("rebuild trace index: %w", err)
			}
			continue
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for b := range tracesBuckets {
			q := `INSERT INTO ` + e.tracesTable(b) + ` SELECT trace_hi, trace_lo, min(ts), max(ts),
				CASE WHEN min(ds) = max(ds) THEN min(ds) ELSE 0 END FROM ` + e.eventsTable() + `
				WHERE wseq > ? AND (trace_lo >> 60) & 15 = ? GROUP BY trace_hi, trace_lo`
			if _, err := tx.ExecContext(ctx, q, indexed.Int64, b); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("rebuild trace index: %w", err)
			}
		}
		// The rows and the sequence they are complete up to commit
		// together or not at all: rows without the sequence would be
		// rebuilt, and so doubled, by the next Open.
		if _, err := tx.ExecContext(ctx, `DELETE FROM trace_index_state WHERE env = ?`, e.id); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("rebuild trace index: record it: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO trace_index_state VALUES (?, ?)`, e.id, maxSeq.Int64); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("rebuild trace index: record it: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("rebuild trace index: %w", err)
		}
		s.log.Info("duckdb store: trace index rebuilt", "env", e.slug, "from_write", indexed.Int64+1, "to_write", maxSeq.Int64)
	}
	return nil
}

// pendingFromEvents rebuilds in memory the index rows of e's writes after
// seq.
func (s *Store) pendingFromEvents(ctx context.Context, e *envReg, seq int64) error {
	rows := new([tracesBuckets][]traceRow)
	err := each(ctx, s.db, `SELECT trace_hi, trace_lo, min(ts), max(ts), CASE WHEN min(ds) = max(ds) THEN min(ds) ELSE 0 END FROM `+
		e.eventsTable()+` WHERE wseq > `+strconv.FormatInt(seq, 10)+` GROUP BY trace_hi, trace_lo`, func(r *sql.Rows) error {
		var row traceRow
		if err := r.Scan(&row.tk.hi, &row.tk.lo, &row.lo, &row.hi, &row.ds); err != nil {
			return err
		}
		b := traceBucket(row.tk)
		rows[b] = append(rows[b], row)
		return nil
	})
	if err != nil {
		return err
	}
	s.idx.add(e.id, rows, false)
	return nil
}

// flushPendingIndex writes every environment's pending index rows (Close).
// Callers hold wmu.
func (s *Store) flushPendingIndex(ctx context.Context) error {
	reg := s.reg.Load()
	return s.wc.Raw(func(dc any) error {
		conn, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		for _, e := range reg.envs {
			rows, n := s.idx.snapshot(e.id, new([tracesBuckets][]traceRow))
			if n == 0 {
				continue
			}
			if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
				return err
			}
			if err := flushIndex(ctx, conn, e, rows, s.wseq); err != nil {
				_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
				return errors.Join(err, rerr)
			}
			if _, err := conn.ExecContext(ctx, "COMMIT", nil); err != nil {
				return err
			}
			s.idx.add(e.id, nil, true)
		}
		return nil
	})
}
