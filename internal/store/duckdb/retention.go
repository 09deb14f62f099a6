package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

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
		return fmt.Errorf("duckdb store: set retention of %q: %w", env, err)
	}
	s.retMu.Lock()
	defer s.retMu.Unlock()
	if r == nil {
		delete(s.overrides, env)
	} else {
		s.overrides[env] = *r
	}
	return nil
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

var _ = errors.New
