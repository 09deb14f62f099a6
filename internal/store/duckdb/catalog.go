package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Last-written times. A Write moves the last-written time of every
// dataset and field it touched in memory (colTimes) and queues a
// dirtyRef for each; flushCatalog, every Config.CatalogFlushInterval, on
// Close and before the store swaps its file, appends one catalog_times row
// per field or dataset whose time moved since the previous flush, and
// nothing else: its work is proportional to what changed, not to the size
// of the catalog (format 4 rewrote the datasets and dataset_columns tables
// whole every 5 s, under the write lock: with one environment holding a
// million fields, every other environment's writes waited behind it).
// The flush runs on a connection of its own under flushMu, never under
// the write lock. Open folds the log into the catalog (the newest time of
// each row wins); when the log has grown past twice its distinct rows
// (and catalogLogSlack), the flush rewrites it to one row each.

// catalogTimesDDL is the log of last-written times (format 5). kind is
// datasetKind on a dataset's own row, whose key is empty.
const catalogTimesDDL = `CREATE TABLE catalog_times (env INTEGER NOT NULL, ds INTEGER NOT NULL, key VARCHAR NOT NULL,
	kind UTINYINT NOT NULL, last_ns BIGINT NOT NULL)`

// datasetKind marks a catalog_times row that is a dataset's own.
const datasetKind = 255

// catalogLogSlack is how many rows the log may grow by past twice its
// distinct rows before the flush compacts it.
const catalogLogSlack = 50_000

// dirtyRef names a catalog row whose last-written time moved: a dataset's
// own (dataset set) or one of its fields.
type dirtyRef struct {
	env     string
	ds      int32
	k       colKey
	dataset bool
}

// markDirty queues catalog rows for the next flush.
func (s *Store) markDirty(refs []dirtyRef) {
	if len(refs) == 0 {
		return
	}
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	for _, r := range refs {
		s.dirty[r] = struct{}{}
	}
}

// flushCatalog appends the last-written times that moved since the last
// flush to catalog_times. Callers hold flushMu (not wmu).
func (s *Store) flushCatalog(ctx context.Context) error {
	if s.h == nil || s.h.readOnly {
		return nil // kept for when the store can write again
	}
	s.dirtyMu.Lock()
	dirty := s.dirty
	s.dirty = map[dirtyRef]struct{}{}
	s.dirtyMu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	reg := s.reg.Load()
	type row struct {
		env, ds int32
		key     string
		kind    uint8
		last    int64
	}
	rows := make([]row, 0, len(dirty))
	for r := range dirty {
		e := reg.envs[r.env]
		if e == nil {
			continue
		}
		d := e.dsByID[r.ds]
		if d == nil {
			continue // deleted since
		}
		if r.dataset {
			rows = append(rows, row{int32(e.id), d.id, "", datasetKind, d.times.last.Load()})
			continue
		}
		if t := d.cols[r.k]; t != nil {
			rows = append(rows, row{int32(e.id), d.id, r.k.key, uint8(r.k.kind), t.last.Load()})
		}
	}
	err := s.withConn(ctx, func(conn driverConn) error {
		return inTx(ctx, conn, func() error {
			return appendRows(conn, "catalog_times", func(app *duckdb.Appender) error {
				for _, r := range rows {
					if err := app.AppendRow(r.env, r.ds, r.key, r.kind, r.last); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
	if err != nil {
		// Put them back: the next flush retries.
		s.markDirty(mapKeys(dirty))
		return s.writeFailed(err)
	}
	s.catalogRowsWritten.Add(int64(len(rows)))
	s.logRows += int64(len(rows))
	if s.logRows > 2*s.logDistinct+catalogLogSlack {
		if err := s.compactCatalogLog(ctx); err != nil {
			return fmt.Errorf("compact catalog_times: %w", err)
		}
	}
	return nil
}

// compactCatalogLog rewrites catalog_times to one row per dataset and
// field. Callers hold flushMu.
func (s *Store) compactCatalogLog(ctx context.Context) error {
	return s.withConn(ctx, func(conn driverConn) error {
		err := inTx(ctx, conn, func() error {
			for _, q := range []string{
				`CREATE TEMP TABLE catalog_times_max AS SELECT env, ds, key, kind, max(last_ns) AS last_ns FROM catalog_times GROUP BY ALL`,
				`DELETE FROM catalog_times`,
				`INSERT INTO catalog_times SELECT * FROM catalog_times_max`,
				`DROP TABLE catalog_times_max`,
			} {
				if _, err := conn.ExecContext(ctx, q, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		n, err := queryInt(ctx, conn, `SELECT count(*) FROM catalog_times`)
		if err != nil {
			return err
		}
		s.logRows, s.logDistinct = n, n
		return nil
	})
}

// loadTimes applies catalog_times to a registry being loaded.
func (s *Store) loadTimes(ctx context.Context, db *sql.DB, byID map[int]*envReg) error {
	var n int64
	err := each(ctx, db, `SELECT env, ds, key, kind, max(last_ns), count(*) FROM catalog_times GROUP BY ALL`, func(rows *sql.Rows) error {
		var env int
		var ds int32
		var key string
		var kind uint8
		var last, c int64
		if err := rows.Scan(&env, &ds, &key, &kind, &last, &c); err != nil {
			return err
		}
		n += c
		e := byID[env]
		if e == nil {
			return nil
		}
		d := e.dsByID[ds]
		if d == nil {
			return nil
		}
		t := d.times
		if kind != datasetKind {
			t = d.cols[colKey{key, model.Kind(kind)}]
		}
		if t != nil && last > t.last.Load() {
			t.last.Store(last)
		}
		s.logDistinct++
		return nil
	})
	s.logRows = n
	return err
}

// deleteTimes removes the log rows of a dataset (key nil) or of one of its
// fields, inside the caller's transaction. Callers hold flushMu.
func deleteTimes(ctx context.Context, conn driverConn, env int, ds int32, key *string) error {
	q := `DELETE FROM catalog_times WHERE env = ` + strconv.Itoa(env) + ` AND ds = ` + strconv.Itoa(int(ds))
	var args []any
	if key != nil {
		q += ` AND key = ? AND kind <> ` + strconv.Itoa(datasetKind)
		args = append(args, *key)
	}
	return execArgs(ctx, conn, q, args...)
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// inTx runs fn in a transaction on conn: committed when fn returns nil,
// rolled back otherwise.
func inTx(ctx context.Context, conn driverConn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION", nil); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
		return errors.Join(err, rerr)
	}
	_, err := conn.ExecContext(ctx, "COMMIT", nil)
	return err
}
