package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/store"
)

// Disk full and invalidated databases. DuckDB fails a commit whose WAL
// write finds the disk full and rolls it back; the store answers
// store.ErrNoSpace (retryable) and goes on. A checkpoint that fails (the
// one a commit runs once the WAL passes checkpoint_threshold, on a full
// disk or for any other reason) is worse: DuckDB invalidates the whole
// database ("database has been invalidated because of a previous fatal
// error"), every later statement fails, and only closing and opening the
// file again (replaying the WAL) recovers it. When that checkpoint ran
// inside a commit whose WAL write had succeeded, the commit is durable and
// DuckDB says so: "Transaction COMMIT succeeded and is durable, but the
// autocheckpoint failed"; Write reports it as the success it is (format 4
// answered it with an error, so the client retried and stored it twice).
//
// Either way the store reopens itself (recoverLoop): under the write lock
// it closes the database and opens it again, which replays the WAL. On a
// full disk a read-write open can fail too (the store's own start-up
// writes, or DuckDB's checkpoint of the replayed WAL); the store then
// opens the file read-only, so reads keep working and every write answers
// store.ErrNoSpace, and tries a read-write open again every
// Config.RecoveryInterval until space is back. Open does the same, so
// tracecomb starts on a full disk. Healthy reports all of it for /healthz.

// durableCommit starts DuckDB's error for a commit that succeeded but
// whose automatic checkpoint failed.
const durableCommit = "Transaction COMMIT succeeded and is durable"

// isDurableCommit reports whether err says the commit succeeded.
func isDurableCommit(err error) bool {
	return err != nil && strings.Contains(err.Error(), durableCommit)
}

// isNoSpace reports whether err comes from a full disk.
func isNoSpace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, store.ErrNoSpace) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "No space left on device") || strings.Contains(msg, "not enough space") ||
		strings.Contains(msg, "disk is full")
}

// isInvalidated reports whether err means DuckDB invalidated the database
// (a fatal error: it must be closed and opened again).
func isInvalidated(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database has been invalidated") || strings.Contains(msg, "FATAL Error")
}

// health is whether the store can write, and why not.
type health struct {
	mu sync.Mutex
	// cause is why the store cannot write (nil: it can). noSpace is set
	// when the cause is a full disk; reopen when the database must be
	// opened again (invalidated, or read-only). since is when it began.
	cause   error
	noSpace bool
	reopen  bool
	since   time.Time
	// reopens and failures count recoveries and the failures that needed
	// one; durableFailures counts commits that succeeded although their
	// checkpoint failed.
	reopens         int64
	failures        int64
	durableFailures int64
}

// unwritable records that the store cannot write because of cause, and
// wakes the recovery loop when the database must be opened again.
func (s *Store) unwritable(cause error, reopen bool) {
	s.health.mu.Lock()
	if s.health.cause == nil {
		s.health.since = time.Now()
		s.health.failures++
		s.log.Warn("duckdb store: cannot write", "err", cause, "reopen", reopen)
	}
	s.health.cause = cause
	s.health.noSpace = isNoSpace(cause)
	s.health.reopen = s.health.reopen || reopen
	s.health.mu.Unlock()
	if reopen {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// writable records that a write succeeded.
func (s *Store) writable() {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if s.health.cause != nil && !s.health.reopen {
		s.log.Info("duckdb store: writing again", "after", time.Since(s.health.since))
		s.health.cause, s.health.noSpace = nil, false
	}
}

// writeFailed classifies a failed write (or other change): a full disk
// gives store.ErrNoSpace, an invalidated database a reopen. Callers hold
// wmu.
func (s *Store) writeFailed(err error) error {
	switch {
	case isInvalidated(err):
		s.unwritable(err, true)
	case isNoSpace(err):
		s.unwritable(err, false)
	default:
		return err
	}
	if isNoSpace(err) && !errors.Is(err, store.ErrNoSpace) {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

// readFailed wakes the recovery when a read found the database
// invalidated.
func (s *Store) readFailed(err error) {
	if isInvalidated(err) {
		s.unwritable(err, true)
	}
}

// readOnlyErr is what a change answers while the store holds its file
// read-only.
func (s *Store) readOnlyErr() error {
	s.health.mu.Lock()
	cause := s.health.cause
	s.health.mu.Unlock()
	if cause == nil {
		cause = errors.New("the database is open read-only")
	}
	if isNoSpace(cause) {
		return fmt.Errorf("%w: the store is read-only until space is freed (%v)", store.ErrNoSpace, cause)
	}
	return fmt.Errorf("duckdb store: read-only until the database can be opened again: %w", cause)
}

// Healthy returns nil when the store can write; otherwise why not,
// wrapping store.ErrNoSpace when the disk is full. After a failed write on
// a full disk, it reports the store healthy again once the data
// directory's file system has Config.MinFreeBytes free (the next write
// confirms).
func (s *Store) Healthy(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.health.mu.Lock()
	cause, noSpace, reopen, since := s.health.cause, s.health.noSpace, s.health.reopen, s.health.since
	s.health.mu.Unlock()
	if cause == nil {
		return nil
	}
	if noSpace && !reopen {
		if free, err := freeBytes(filepath.Dir(s.cfg.Path)); err == nil && free >= s.cfg.MinFreeBytes {
			return nil
		}
	}
	if noSpace {
		return fmt.Errorf("%w: the store cannot write since %s: %v", store.ErrNoSpace, since.UTC().Format(time.RFC3339), cause)
	}
	return fmt.Errorf("duckdb store: cannot write since %s: %w", since.UTC().Format(time.RFC3339), cause)
}

// recoverLoop opens the database again whenever it must be (an
// invalidated database, a read-only fallback), at once when woken and
// every Config.RecoveryInterval until it succeeds.
func (s *Store) recoverLoop() {
	defer close(s.recoverDone)
	t := time.NewTicker(s.cfg.RecoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopRecover:
			return
		case <-s.kick:
		case <-t.C:
		}
		s.health.mu.Lock()
		reopen := s.health.reopen
		s.health.mu.Unlock()
		if reopen {
			s.reopen(context.Background())
		}
	}
}

// reopen closes the database and opens it again, read-write if it can,
// else read-only.
func (s *Store) reopen(ctx context.Context) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.closed.Load() {
		return
	}
	s.hmu.Lock()
	old := s.h
	s.hmu.Unlock()
	if old != nil && old.readOnly {
		// The read-only instance must close before a read-write one opens
		// the file (readers wait meanwhile): not before there is room.
		if free, err := freeBytes(filepath.Dir(s.cfg.Path)); err == nil && free < s.cfg.MinFreeBytes {
			return
		}
	}
	if s.wc != nil {
		_ = s.wc.Close()
		s.wc = nil
	}
	if old != nil {
		if err := s.retire(old); err != nil {
			s.log.Error("duckdb store: cannot close the database to reopen it", "err", err)
			return
		}
	}
	h, readOnly, err := s.openEither(ctx)
	if err != nil {
		s.hmu.Lock()
		s.h = nil // readers wait; the next attempt publishes a handle
		s.hmu.Unlock()
		s.log.Error("duckdb store: cannot open the database again", "err", err)
		s.unwritable(err, true)
		return
	}
	s.publish(h)
	s.health.mu.Lock()
	s.health.reopens++
	if !readOnly {
		s.log.Info("duckdb store: reopened", "unwritable_for", time.Since(s.health.since))
		s.health.cause, s.health.noSpace, s.health.reopen = nil, false, false
	}
	s.health.mu.Unlock()
}

// openEither opens the file read-write, or read-only when a full disk
// prevents that, and loads the catalog from it. Callers hold wmu and
// flushMu, or own the store alone (Open).
func (s *Store) openEither(ctx context.Context) (*handle, bool, error) {
	h, err := s.openHandle(ctx, false)
	if err == nil {
		if err = s.init(ctx, h); err == nil {
			return h, false, nil
		}
		if s.wc != nil {
			_ = s.wc.Close()
			s.wc = nil
		}
		_ = h.close()
	}
	if !isNoSpace(err) {
		return nil, false, err
	}
	rwErr := err
	h, err = s.openHandle(ctx, true)
	if err == nil {
		if err = s.initReadOnly(ctx, h); err != nil {
			_ = h.close()
		}
	}
	if err != nil {
		return nil, false, errors.Join(rwErr, fmt.Errorf("read-only: %w", err))
	}
	s.log.Warn("duckdb store: disk full, database opened read-only", "err", rwErr)
	s.unwritable(rwErr, true)
	return h, true, nil
}

// initReadOnly loads the catalog of a read-only handle. The trace index
// rows its file lacks stay in memory.
func (s *Store) initReadOnly(ctx context.Context, h *handle) error {
	s.db = h.db
	s.wc = nil
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM format`).Scan(&v); err != nil {
		return fmt.Errorf("duckdb store: read format: %w", err)
	}
	if v != formatVersion {
		return fmt.Errorf("duckdb store: %s has format version %d, and a read-only open cannot upgrade it to %d", s.cfg.Path, v, formatVersion)
	}
	reg, err := s.loadRegistry(ctx)
	if err != nil {
		return err
	}
	if err := s.loadOverrides(ctx, s.db); err != nil {
		return err
	}
	s.wseq = 0
	s.idx.reset()
	if err := s.recoverIndex(ctx, reg, false); err != nil {
		return fmt.Errorf("duckdb store: %w", err)
	}
	s.reg.Store(reg)
	return nil
}

var (
	descHealthy = prometheus.NewDesc("tracecomb_store_writable",
		"1 when the store can write, 0 when it cannot (full disk, database being reopened, read-only).", nil, nil)
	descReopens = prometheus.NewDesc("tracecomb_store_reopens_total",
		"Times the store closed and opened its database again to recover.", nil, nil)
	descDurable = prometheus.NewDesc("tracecomb_store_durable_commits_failed_checkpoint_total",
		"Commits that succeeded although the checkpoint after them failed (reported as successes).", nil, nil)
	descUnwritable = prometheus.NewDesc("tracecomb_store_write_failures_total",
		"Times the store became unable to write (full disk, invalidated database).", nil, nil)
)

func (s *Store) describeHealth(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHealthy, descReopens, descDurable, descUnwritable} {
		ch <- d
	}
}

func (s *Store) collectHealth(ch chan<- prometheus.Metric) {
	ok := 0.0
	if s.Healthy(context.Background()) == nil {
		ok = 1
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descReopens, prometheus.CounterValue, float64(s.health.reopens))
	ch <- prometheus.MustNewConstMetric(descDurable, prometheus.CounterValue, float64(s.health.durableFailures))
	ch <- prometheus.MustNewConstMetric(descUnwritable, prometheus.CounterValue, float64(s.health.failures))
}
