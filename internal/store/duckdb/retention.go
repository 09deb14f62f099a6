package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// Retention (see the package comment's "Retention" for the measurements
// behind the design). Every Config.RetentionInterval, enforceRetention
// deletes each environment's events older than its MaxAge and, while its
// tables take more than 90% of its MaxBytes, its oldest events until they
// take 75% (the group of an environment's door parts together), with
// DELETE and CHECKPOINT under the write lock: DuckDB marks the rows
// deleted and the checkpoint frees the row groups they filled, whose
// blocks the next writes reuse, so the file stops growing. DuckDB never
// gives blocks in the middle of its file back to the file system, so
// when more than half of the file (and at least Config.CompactMinFree) is
// free, compact rewrites the live data into a new file with COPY FROM
// DATABASE and swaps it in.

// sizeTrigger and sizeTarget are the shares of MaxBytes at which size
// retention starts deleting and down to which it deletes.
const (
	sizeTrigger = 0.85
	sizeTarget  = 0.70
)

// walShare is the most of the smallest MaxBytes the WAL may take: the
// checkpoint threshold is lowered to it (never below minCheckpoint), since
// the WAL is on disk too and DuckDB lets it grow to the threshold.
const (
	walShare      = 16
	minCheckpoint = 1 << 20
)

// applyCheckpointThreshold sets DuckDB's checkpoint_threshold to
// Config.CheckpointThreshold, or lower when a size limit is small (see
// walShare). Callers hold wmu.
func (s *Store) applyCheckpointThreshold(ctx context.Context) error {
	limit := int64(0)
	s.retMu.Lock()
	for _, r := range append(slices.Collect(maps.Values(s.overrides)), s.cfg.Retention) {
		if r.MaxBytes > 0 && (limit == 0 || r.MaxBytes < limit) {
			limit = r.MaxBytes
		}
	}
	s.retMu.Unlock()
	setting := s.cfg.CheckpointThreshold
	if limit > 0 {
		cfg, err := parseBytes(s.cfg.CheckpointThreshold)
		if err != nil {
			return fmt.Errorf("duckdb store: checkpoint threshold %q: %w", s.cfg.CheckpointThreshold, err)
		}
		if t := max(limit/walShare, minCheckpoint); t < cfg {
			setting = strconv.FormatInt(t/1000, 10) + "KB"
		}
	}
	if setting == "" || setting == s.threshold {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "SET GLOBAL checkpoint_threshold = '"+escapeLiteral(setting)+"'"); err != nil {
		return fmt.Errorf("duckdb store: set checkpoint_threshold: %w", err)
	}
	s.threshold = setting
	return nil
}

// parseBytes reads a size as DuckDB writes them: a number and a unit
// (B, KB, MB, GB, TB in powers of 1000, KiB, MiB, GiB, TiB in powers of
// 1024; none means bytes).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(v[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("not a size: %q", v)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[strings.ToLower(strings.TrimSpace(v[i:]))]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit in %q", v)
	}
	return int64(n * mult), nil
}

// retentionDDL holds the per-environment retention overrides (format 5),
// by environment slug (the environment need not have events yet).
const retentionDDL = `CREATE TABLE retention (env VARCHAR NOT NULL, max_age_ns BIGINT NOT NULL, max_bytes BIGINT NOT NULL)`

// baseEnv is the environment whose retention governs store environment
// slug: a door's part (store.DoorEnv) follows its environment.
func baseEnv(slug string) string {
	base, _, _ := strings.Cut(slug, "/")
	return base
}

// Retention returns the environment's retention: its override, else
// Config.Retention.
func (s *Store) Retention(ctx context.Context, env string) (store.Retention, error) {
	if s.closed.Load() {
		return store.Retention{}, ErrClosed
	}
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if r, ok := s.overrides[baseEnv(env)]; ok {
		return r, nil
	}
	return s.cfg.Retention, nil
}

// SetRetention stores (or with nil removes) the environment's override.
func (s *Store) SetRetention(ctx context.Context, env string, r *store.Retention) error {
	if r != nil && (r.MaxAge < 0 || r.MaxBytes < 0) {
		return fmt.Errorf("duckdb store: retention of %q: negative bounds %+v", env, *r)
	}
	env = baseEnv(env)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.wc == nil {
		return s.readOnlyErr()
	}
	err := s.wc.Raw(func(dc any) error {
		conn, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return inTx(ctx, conn, func() error {
			if err := execArgs(ctx, conn, `DELETE FROM retention WHERE env = ?`, env); err != nil {
				return err
			}
			if r == nil {
				return nil
			}
			return execArgs(ctx, conn, `INSERT INTO retention VALUES (?, ?, ?)`, env, int64(r.MaxAge), r.MaxBytes)
		})
	})
	if err != nil {
		return fmt.Errorf("duckdb store: set retention of %q: %w", env, s.writeFailed(err))
	}
	s.retMu.Lock()
	if r == nil {
		delete(s.overrides, env)
	} else {
		s.overrides[env] = *r
	}
	s.retMu.Unlock()
	if err := s.applyCheckpointThreshold(ctx); err != nil {
		return err
	}
	// Enforce the new setting now rather than at the next interval.
	select {
	case s.wakeRet <- struct{}{}:
	default:
	}
	return nil
}

// RetentionReport is what the store reports of an environment's retention:
// the bounds in force and where they come from, and what the last
// retention pass measured.
type RetentionReport struct {
	// Retention is in force: the environment's own setting (Own) or the
	// store's default, Config.Retention (the --retention-* flags).
	Retention store.Retention
	Own       bool
	Default   store.Retention
	// Bytes is the estimated bytes of the environment's tables in the
	// file (its door parts included; checkpointed data only) and Oldest
	// the time of its oldest event (zero when it has none), as measured at
	// Measured (every retention pass).
	Bytes    int64
	Oldest   time.Time
	Measured time.Time
	// LastPass is when the last retention pass ended (zero: none yet; the
	// first runs Config.RetentionInterval after opening, or at once after
	// SetRetention); Interval is how often passes run.
	LastPass time.Time
	Interval time.Duration
	// Deleted counts the events retention deleted since the store opened.
	Deleted int64
	// WALBytes is the size of the store's WAL now: committed events of
	// every environment not yet checkpointed into the file, which Bytes
	// does not count.
	WALBytes int64
}

// RetentionReport reports env's retention (env is an environment, not a
// door's part). Before the first retention pass it measures the
// environment itself.
func (s *Store) RetentionReport(ctx context.Context, env string) (RetentionReport, error) {
	if s.closed.Load() {
		return RetentionReport{}, ErrClosed
	}
	env = baseEnv(env)
	s.stats.mu.Lock()
	measured := !s.stats.measured.IsZero()
	s.stats.mu.Unlock()
	if !measured {
		if err := s.refreshStats(ctx); err != nil {
			return RetentionReport{}, fmt.Errorf("duckdb store: measure retention: %w", err)
		}
	}
	rep := RetentionReport{Default: s.cfg.Retention, Interval: s.cfg.RetentionInterval, WALBytes: fileSize(s.cfg.Path + ".wal")}
	s.retMu.Lock()
	rep.Retention, rep.Own = s.overrides[env]
	s.retMu.Unlock()
	if !rep.Own {
		rep.Retention = s.cfg.Retention
	}
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	rep.Measured, rep.LastPass = s.stats.measured, s.stats.lastPass
	var oldest int64
	for slug, n := range s.stats.envBytes {
		if baseEnv(slug) == env {
			rep.Bytes += n
		}
	}
	for slug, ts := range s.stats.oldest {
		if baseEnv(slug) == env && (oldest == 0 || ts < oldest) {
			oldest = ts
		}
	}
	for slug, n := range s.stats.deleted {
		if baseEnv(slug) == env {
			rep.Deleted += n
		}
	}
	if oldest != 0 {
		rep.Oldest = time.Unix(0, oldest).UTC()
	}
	return rep, nil
}

// retentionInForce is the retention of every environment that has events
// or its own setting, by environment.
func (s *Store) retentionInForce() map[string]store.Retention {
	out := map[string]store.Retention{}
	if reg := s.reg.Load(); reg != nil {
		for slug := range reg.envs {
			out[baseEnv(slug)] = s.cfg.Retention
		}
	}
	s.retMu.Lock()
	defer s.retMu.Unlock()
	for env, r := range s.overrides {
		out[env] = r
	}
	return out
}

// loadOverrides reads the retention overrides.
func (s *Store) loadOverrides(ctx context.Context, db *sql.DB) error {
	over := map[string]store.Retention{}
	err := each(ctx, db, `SELECT env, max_age_ns, max_bytes FROM retention`, func(rows *sql.Rows) error {
		var env string
		var age, bytes int64
		if err := rows.Scan(&env, &age, &bytes); err != nil {
			return err
		}
		over[env] = store.Retention{MaxAge: time.Duration(age), MaxBytes: bytes}
		return nil
	})
	if err != nil {
		return fmt.Errorf("duckdb store: load retention: %w", err)
	}
	s.retMu.Lock()
	defer s.retMu.Unlock()
	s.overrides = over
	return nil
}

// wakeShare is the share of a size limit that writes may add before they
// wake the retention loop ahead of its interval, so a size limit holds
// within a few percent however fast events come in.
const wakeShare = 20

// grown records that a Write added about n bytes to environment slug and
// wakes the retention loop when that passes 1/wakeShare of the
// environment's size limit. Callers hold wmu.
func (s *Store) grown(slug string, n int64) {
	base := baseEnv(slug)
	r := s.policy(base)
	if r.MaxBytes <= 0 {
		return
	}
	s.grownBytes[base] += n
	if s.grownBytes[base] > r.MaxBytes/wakeShare {
		select {
		case s.wakeRet <- struct{}{}:
		default:
		}
	}
}

// policy returns the retention of a base environment.
func (s *Store) policy(base string) store.Retention {
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if r, ok := s.overrides[base]; ok {
		return r
	}
	return s.cfg.Retention
}

// retentionLoop enforces retention every Config.RetentionInterval.
func (s *Store) retentionLoop() {
	defer close(s.retDone)
	t := time.NewTicker(s.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopRet:
			return
		case <-t.C:
		case <-s.wakeRet:
		}
		if err := s.enforceRetention(context.Background()); err != nil && !s.closed.Load() {
			s.log.Warn("duckdb store: retention failed", "err", err)
		}
	}
}

// enforceRetention runs one retention pass: deletes by age and by size,
// refreshes the statistics /metrics reports, and compacts the file when
// enough of it is free.
func (s *Store) enforceRetention(ctx context.Context) error {
	compact, err := s.deleteExpired(ctx)
	if err != nil {
		return s.writeFailed(err)
	}
	if compact {
		if err := s.compact(ctx, false); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	if err := s.refreshStats(ctx); err != nil {
		return err
	}
	s.stats.mu.Lock()
	s.stats.lastPass = time.Now()
	s.stats.mu.Unlock()
	return nil
}

// deleteExpired deletes what retention bounds exclude, and reports whether
// the file is worth compacting.
func (s *Store) deleteExpired(ctx context.Context) (compact bool, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.closed.Load() || s.wc == nil {
		return false, nil
	}
	start := time.Now()
	now := s.cfg.Now().UnixNano()
	clear(s.grownBytes)
	groups := map[string][]*envReg{}
	for slug, e := range s.reg.Load().envs {
		groups[baseEnv(slug)] = append(groups[baseEnv(slug)], e)
	}
	deleted := map[string]int64{}
	total := int64(0)
	for base, envs := range groups {
		pol := s.policy(base)
		if pol.MaxAge <= 0 {
			continue
		}
		for _, e := range envs {
			n, err := s.deleteBefore(ctx, e, now-int64(pol.MaxAge))
			if err != nil {
				return false, fmt.Errorf("delete %s's events older than %v: %w", e.slug, pol.MaxAge, err)
			}
			deleted[e.slug] += n
			total += n
		}
	}
	checkpointed := false
	if total > 0 {
		if err := s.checkpoint(ctx); err != nil {
			return false, err
		}
		checkpointed = true
	}
	for base, envs := range groups {
		pol := s.policy(base)
		if pol.MaxBytes <= 0 {
			continue
		}
		if !checkpointed {
			// The WAL's rows are in no block yet: measure after a checkpoint.
			if err := s.checkpoint(ctx); err != nil {
				return false, err
			}
			checkpointed = true
		}
		// Up to four rounds, while each frees space: a checkpoint does not
		// always free a row group's deleted rows at once (the next
		// pass sees them freed).
		prev := int64(0)
		for round := 0; round < 4; round++ {
			need, err := s.sizeNeeded(ctx, envs)
			if err != nil {
				return false, err
			}
			limit := float64(pol.MaxBytes)
			s.log.Debug("duckdb store: size retention", "env", base, "round", round, "need", need, "limit", pol.MaxBytes,
				"file", fileSize(s.cfg.Path), "wal", fileSize(s.cfg.Path+".wal"))
			if (round == 0 && float64(need) <= sizeTrigger*limit) || (round > 0 && (float64(need) <= sizeTarget*limit || need >= prev)) {
				break
			}
			prev = need
			cutoff, err := s.groupQuantile(ctx, envs, 1-sizeTarget*limit/float64(need))
			if err != nil || cutoff == nil {
				return false, err
			}
			for _, e := range envs {
				// At least the oldest instant goes, so a round always deletes.
				n, err := s.deleteBefore(ctx, e, *cutoff+1)
				if err != nil {
					return false, fmt.Errorf("delete %s's oldest events (over %d bytes): %w", e.slug, pol.MaxBytes, err)
				}
				deleted[e.slug] += n
				total += n
			}
			if err := s.checkpoint(ctx); err != nil {
				return false, err
			}
		}
	}
	s.stats.mu.Lock()
	for env, n := range deleted {
		s.stats.deleted[env] += n
	}
	s.stats.mu.Unlock()
	if total > 0 {
		s.log.Info("duckdb store: retention deleted events", "events", total, "took", time.Since(start))
		s.deletedSince = true
	}
	if !s.deletedSince {
		return false, nil
	}
	s.deletedSince = false
	return s.worthCompacting(ctx)
}

// deleteBefore deletes e's events older than cutoff (unix ns) and the
// trace index and search filter rows of writes whose events all were.
func (s *Store) deleteBefore(ctx context.Context, e *envReg, cutoff int64) (int64, error) {
	res, err := s.wc.ExecContext(ctx, `DELETE FROM `+e.eventsTable()+` WHERE ts < ?`, cutoff)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return n, err
	}
	for b := range tracesBuckets {
		if _, err := s.wc.ExecContext(ctx, `DELETE FROM `+e.tracesTable(b)+` WHERE max_ts < ?`, cutoff); err != nil {
			return n, err
		}
	}
	if _, err := s.wc.ExecContext(ctx, `DELETE FROM `+e.bloomsTable()+` WHERE max_ts < ?`, cutoff); err != nil {
		return n, err
	}
	s.blooms.dropBefore(e.id, cutoff)
	return n, nil
}

// checkpoint runs a CHECKPOINT on the write connection. Callers hold wmu
// and flushMu, so no other write transaction is open.
func (s *Store) checkpoint(ctx context.Context) error {
	if _, err := s.wc.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// envTables lists an environment's tables.
func envTables(e *envReg) []string {
	out := []string{e.eventsTable()}
	for b := range tracesBuckets {
		out = append(out, e.tracesTable(b))
	}
	return append(out, e.bloomsTable())
}

// sizeNeeded is what a size limit bounds: what the file must hold for
// the environments. That is their tables' bytes (envBytes), the catalog's
// (the used blocks of no environment, charged to each limited group in
// full), and what a checkpoint writes before it frees the blocks it
// replaces: it rewrites each row group that gained or lost rows since the
// last one, new blocks first, so at least the row group being appended
// to and the one retention deleted from, two row groups (all of an
// environment smaller than a row group: its bytes again). The WAL comes
// on top, bounded by the checkpoint threshold (walShare).
func (s *Store) sizeNeeded(ctx context.Context, envs []*envReg) (int64, error) {
	bytes, err := envBytes(ctx, s.db, envs...)
	if err != nil {
		return 0, err
	}
	var rowGroup int64
	for _, e := range envs {
		var blocks int64
		err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT block_id) AS n FROM pragma_storage_info('`+
			e.eventsTable()+`') WHERE persistent AND block_id >= 0 GROUP BY row_group_id)`).Scan(&blocks)
		if err != nil {
			return 0, fmt.Errorf("measure %s's row groups: %w", e.slug, err)
		}
		rowGroup = max(rowGroup, blocks)
	}
	d, err := s.databaseSize(ctx, s.db)
	if err != nil {
		return 0, err
	}
	all := slices.Collect(maps.Values(s.reg.Load().envs))
	every, err := envBytes(ctx, s.db, all...)
	if err != nil {
		return 0, err
	}
	catalog := max((d.total-d.free)*d.blockSize-every, 0)
	return bytes + catalog + min(bytes, 2*rowGroup*d.blockSize), nil
}

// envBytes estimates the bytes the environments' tables take in the
// file: the distinct blocks their checkpointed segments are in (a block
// shared with another table counts for both), times the block size.
func envBytes(ctx context.Context, db *sql.DB, envs ...*envReg) (int64, error) {
	var parts []string
	for _, e := range envs {
		for _, t := range envTables(e) {
			parts = append(parts, `SELECT block_id FROM pragma_storage_info('`+t+`') WHERE persistent AND block_id >= 0`,
				`SELECT unnest(additional_block_ids) FROM pragma_storage_info('`+t+`') WHERE persistent`)
		}
	}
	var blocks, blockSize int64
	if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT block_id) FROM (`+strings.Join(parts, " UNION ALL ")+`)`).Scan(&blocks); err != nil {
		return 0, fmt.Errorf("measure tables: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()`).Scan(&blockSize); err != nil {
		return 0, fmt.Errorf("measure tables: %w", err)
	}
	return blocks * blockSize, nil
}

// groupQuantile returns the event time below which lie share of the
// environments' events; nil when they have none.
func (s *Store) groupQuantile(ctx context.Context, envs []*envReg, share float64) (*int64, error) {
	share = min(max(share, 0), 1)
	var parts []string
	for _, e := range envs {
		parts = append(parts, `SELECT ts FROM `+e.eventsTable())
	}
	var q sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT quantile_disc(ts, `+strconv.FormatFloat(share, 'f', 6, 64)+`) FROM (`+
		strings.Join(parts, " UNION ALL ")+`)`).Scan(&q)
	if err != nil || !q.Valid {
		return nil, err
	}
	return &q.Int64, nil
}

// dbSize is what pragma_database_size says of the store's file.
type dbSize struct {
	blockSize, total, free int64
}

func (s *Store) databaseSize(ctx context.Context, db *sql.DB) (dbSize, error) {
	var d dbSize
	err := db.QueryRowContext(ctx, `SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = current_database()`).
		Scan(&d.blockSize, &d.total, &d.free)
	return d, err
}

// worthCompacting reports whether a rewrite would free more than half of
// the file, and at least Config.CompactMinFree, while the live data is at
// most Config.CompactMaxLive. A rewrite frees the free blocks and the
// share of each environment's blocks that holds deleted rows (a
// checkpoint frees a row group's blocks only once most of its rows are
// deleted): the rows its segments hold against the rows it has. Callers
// hold wmu.
func (s *Store) worthCompacting(ctx context.Context) (bool, error) {
	d, err := s.databaseSize(ctx, s.db)
	if err != nil {
		return false, fmt.Errorf("database size: %w", err)
	}
	free := d.free * d.blockSize
	for _, e := range s.reg.Load().envs {
		var stored, live int64
		if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0) FROM pragma_storage_info('`+e.eventsTable()+
			`') WHERE column_id = 0 AND column_path = '[0]'`).Scan(&stored); err != nil {
			return false, fmt.Errorf("measure %s: %w", e.slug, err)
		}
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+e.eventsTable()).Scan(&live); err != nil {
			return false, err
		}
		if stored <= live {
			continue
		}
		bytes, err := envBytes(ctx, s.db, e)
		if err != nil {
			return false, err
		}
		free += int64(float64(bytes) * float64(stored-live) / float64(stored))
	}
	file := d.total * d.blockSize
	s.log.Debug("duckdb store: file", "bytes", file, "free_blocks", d.free, "reclaimable", free)
	if free < s.cfg.CompactMinFree || free*2 <= file || file-free > s.cfg.CompactMaxLive {
		return false, nil
	}
	// A rewrite needs room for the copy: while every environment has a
	// size limit, the file's free blocks are reused instead, unless the
	// file is past the limits' sum (a lowered limit), where only a rewrite
	// brings it back.
	if budget := s.sizeBudget(); budget > 0 && file <= budget {
		return false, nil
	}
	return true, nil
}

// sizeBudget is the sum of every environment's MaxBytes when they all
// have one, else 0.
func (s *Store) sizeBudget() int64 {
	var budget int64
	seen := map[string]bool{}
	for slug := range s.reg.Load().envs {
		base := baseEnv(slug)
		if seen[base] {
			continue
		}
		seen[base] = true
		r := s.policy(base)
		if r.MaxBytes <= 0 {
			return 0
		}
		budget += r.MaxBytes
	}
	return budget
}

// compactSuffix names the file a compaction writes before it replaces
// the store's file.
const compactSuffix = ".compact"

// compact rewrites the file without its free blocks: under the write lock,
// COPY FROM DATABASE into a new file, then close the store's file, rename
// the new one over it and open it. A crash before the rename leaves the
// old file whole (Open deletes the partial copy); after it, the new one.
func (s *Store) compact(ctx context.Context, force bool) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.closed.Load() || s.wc == nil || s.Healthy(ctx) != nil {
		return nil
	}
	if !force {
		if ok, err := s.worthCompacting(ctx); err != nil || !ok {
			return err
		}
	}
	start := time.Now()
	before := fileSize(s.cfg.Path)
	if err := s.flushPendingIndex(ctx); err != nil {
		return fmt.Errorf("write trace index: %w", err)
	}
	if err := s.flushCatalog(ctx); err != nil {
		return fmt.Errorf("persist catalog: %w", err)
	}
	if err := s.checkpoint(ctx); err != nil {
		return err
	}
	tmp := s.cfg.Path + compactSuffix
	removeCompactLeftovers(s.cfg.Path)
	var name string
	if err := s.db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		return err
	}
	copyErr := func() error {
		if _, err := s.wc.ExecContext(ctx, `ATTACH '`+escapeLiteral(tmp)+`' AS tracecomb_compact`); err != nil {
			return err
		}
		_, err := s.wc.ExecContext(ctx, `COPY FROM DATABASE "`+strings.ReplaceAll(name, `"`, `""`)+`" TO tracecomb_compact`)
		if err == nil {
			_, err = s.wc.ExecContext(ctx, `CHECKPOINT tracecomb_compact`)
		}
		if _, derr := s.wc.ExecContext(context.WithoutCancel(ctx), `DETACH tracecomb_compact`); err == nil {
			err = derr
		}
		if err == nil && fileSize(tmp+".wal") > 0 {
			err = fmt.Errorf("%s.wal left after a checkpoint", tmp)
		}
		return err
	}()
	if copyErr == nil {
		copyErr = syncFile(tmp)
	}
	if copyErr != nil {
		removeCompactLeftovers(s.cfg.Path)
		return fmt.Errorf("copy into %s: %w", tmp, copyErr)
	}
	copied := time.Since(start)
	err := s.swapFile(ctx, func() error {
		if err := os.Remove(s.cfg.Path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Rename(tmp, s.cfg.Path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(s.cfg.Path))
	})
	if err != nil {
		return err
	}
	s.stats.mu.Lock()
	s.stats.compactions++
	s.stats.mu.Unlock()
	s.log.Info("duckdb store: compacted", "bytes_before", before, "bytes_after", fileSize(s.cfg.Path),
		"copy", copied, "took", time.Since(start))
	return nil
}

// swapFile closes the store's database, runs between (if not nil) while
// no instance has the file open, and opens it again. Callers hold wmu and
// flushMu.
func (s *Store) swapFile(ctx context.Context, between func() error) error {
	s.hmu.Lock()
	old := s.h
	s.hmu.Unlock()
	if s.wc != nil {
		_ = s.wc.Close()
		s.wc = nil
	}
	if err := s.retire(old); err != nil {
		return err
	}
	var betweenErr error
	if between != nil {
		betweenErr = between()
	}
	h, err := s.openHandle(ctx, false)
	if err == nil {
		if err = s.init(ctx, h); err != nil {
			_ = h.close()
		}
	}
	if err != nil {
		return errors.Join(betweenErr, fmt.Errorf("reopen: %w", err))
	}
	s.publish(h)
	return betweenErr
}

// removeCompactLeftovers deletes what an interrupted compaction left.
func removeCompactLeftovers(path string) {
	for _, p := range []string{path + compactSuffix, path + compactSuffix + ".wal"} {
		_ = os.Remove(p)
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// refreshStats measures, outside the write lock, what /metrics reports:
// each environment's bytes and oldest event, the file and WAL sizes.
func (s *Store) refreshStats(ctx context.Context) error {
	h, ctx, done, err := s.reader(ctx)
	if err != nil {
		return err
	}
	defer done()
	reg, release := s.snapshot()
	release()
	envs := make([]*envReg, 0, len(reg.envs))
	for _, e := range reg.envs {
		envs = append(envs, e)
	}
	slices.SortFunc(envs, func(a, b *envReg) int { return a.id - b.id })
	bytes := map[string]int64{}
	oldest := map[string]int64{}
	for _, e := range envs {
		n, err := envBytes(ctx, h.db, e)
		if err != nil {
			return err
		}
		bytes[e.slug] = n
		var ts sql.NullInt64
		if err := h.db.QueryRowContext(ctx, `SELECT min(ts) FROM `+e.eventsTable()).Scan(&ts); err != nil {
			return err
		}
		if ts.Valid {
			oldest[e.slug] = ts.Int64
		}
	}
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.envBytes, s.stats.oldest, s.stats.measured = bytes, oldest, time.Now()
	return nil
}
