package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// upgradeTo4 gives each environment's X-Ray door its own part: before
// format 4, the events of environment E that came in by X-Ray's doors were
// stored in E itself; only X-Ray's doors write X-Ray segments (source
// xray), so those rows move to store.DoorEnv(E, model.DoorXRay), and the
// datasets and columns left without rows in E go. The rows are read back
// as events and written with Write, which replaces X-Ray events by trace
// and span id, so an upgrade interrupted before the version moves is run
// again without duplicates.
func (s *Store) upgradeTo4(ctx context.Context) error {
	moved := 0
	for slug, e := range s.reg.Load().envs {
		if strings.Contains(slug, "/") {
			continue // a door's part already
		}
		n, err := s.moveXRayRows(ctx, e, store.DoorEnv(slug, model.DoorXRay))
		if err != nil {
			return fmt.Errorf("move the X-Ray events of %q: %w", slug, err)
		}
		moved += n
	}
	if moved > 0 {
		// Persist the catalog Write built in memory before cutting it.
		if err := s.flushCatalog(ctx); err != nil {
			return err
		}
	}
	for slug, e := range s.reg.Load().envs {
		if strings.Contains(slug, "/") {
			continue
		}
		if err := s.dropXRayRows(ctx, e); err != nil {
			return fmt.Errorf("drop the X-Ray events of %q: %w", slug, err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE format SET version = 4`); err != nil {
		return err
	}
	reg, err := s.loadRegistry(ctx)
	if err != nil {
		return err
	}
	s.reg.Store(reg)
	if moved > 0 {
		s.log.Info("duckdb store: X-Ray door events moved to their own part", "events", moved)
	}
	return nil
}

// moveXRayRows writes e's X-Ray rows to env, in chunks, and returns how
// many there were.
func (s *Store) moveXRayRows(ctx context.Context, e *envReg, env string) (int, error) {
	const chunk = 20_000
	cols, attrs := selectList(e, nil)
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM `+e.eventsTable()+
		` WHERE source = `+strconv.Itoa(int(model.SourceXRay))+` ORDER BY ts, rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	d := newDecoder(e, attrs)
	var batch []model.Event
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.Write(ctx, []store.Batch{{Env: env, Events: batch}})
		n += len(batch)
		batch = nil
		return err
	}
	for rows.Next() {
		ev, err := d.decode(rows)
		if err != nil {
			return n, err
		}
		batch = append(batch, ev)
		if len(batch) == chunk {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// dropXRayRows deletes e's X-Ray rows, then the datasets left without rows
// and, in the datasets that lost rows, the columns no remaining row has.
func (s *Store) dropXRayRows(ctx context.Context, e *envReg) error {
	env, t, xray := strconv.Itoa(e.id), e.eventsTable(), strconv.Itoa(int(model.SourceXRay))
	var touched []int32
	err := s.each(ctx, `SELECT DISTINCT ds FROM `+t+` WHERE source = `+xray, func(rows *sql.Rows) error {
		var ds int32
		if err := rows.Scan(&ds); err != nil {
			return err
		}
		touched = append(touched, ds)
		return nil
	})
	if err != nil || len(touched) == 0 {
		return err
	}
	empty := `SELECT id FROM datasets WHERE env = ` + env + ` AND id NOT IN (SELECT DISTINCT ds FROM ` + t + `)`
	for _, q := range []string{
		`DELETE FROM ` + t + ` WHERE source = ` + xray,
		`DELETE FROM dataset_columns WHERE env = ` + env + ` AND ds IN (` + empty + `)`,
		`DELETE FROM datasets WHERE env = ` + env + ` AND id IN (` + empty + `)`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, id := range touched {
		d := e.dsByID[id]
		if d == nil {
			continue
		}
		keys := map[string]bool{}
		for k := range d.cols {
			keys[k.key] = true
		}
		for key := range keys {
			where, args, ok, err := scanWhere(e, store.ScanQuery{Datasets: []string{d.name}, Filters: []store.Filter{{Column: key, Op: store.OpExists}}})
			if err != nil || !ok {
				return err
			}
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t+` WHERE `+where+` LIMIT 1)`, args...).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				if _, err := s.db.ExecContext(ctx, `DELETE FROM dataset_columns WHERE env = ? AND ds = ? AND key = ?`, e.id, id, key); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
