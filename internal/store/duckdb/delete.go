package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// DeleteDataset removes a dataset: its events (one DELETE on the
// environment's events table by dataset id, which DuckDB answers by
// marking rows deleted; their space is reused after the next checkpoint),
// its trace index rows, its catalog rows and its last-written log rows, in
// one transaction.
func (s *Store) DeleteDataset(ctx context.Context, env, dataset string) error {
	return s.catalogChange(ctx, env, dataset, func(conn driverConn, e *envReg, d *dsReg) (func(), error) {
		id := strconv.Itoa(int(d.id))
		qs := []string{`DELETE FROM ` + e.eventsTable() + ` WHERE ds = ` + id}
		for b := range tracesBuckets {
			qs = append(qs, `DELETE FROM `+e.tracesTable(b)+` WHERE ds = `+id)
		}
		envID := strconv.Itoa(e.id)
		qs = append(qs, `DELETE FROM dataset_columns WHERE env = `+envID+` AND ds = `+id,
			`DELETE FROM datasets WHERE env = `+envID+` AND id = `+id)
		for _, q := range qs {
			if err := execArgs(ctx, conn, q); err != nil {
				return nil, err
			}
		}
		if err := deleteTimes(ctx, conn, e.id, d.id, nil); err != nil {
			return nil, err
		}
		return func() {
			e.ownDatasets()
			delete(e.datasets, lower(d.name))
			delete(e.dsByID, d.id)
			e.ncols -= d.nkeys
		}, nil
	})
}

// DeleteColumn removes a field from a dataset: its values in the
// dataset's events (NULL in its attribute columns, removed from the
// overflow lists), its catalog rows and its last-written log rows, in one
// transaction. The physical attribute column stays: other datasets of the
// environment may use it.
func (s *Store) DeleteColumn(ctx context.Context, env, dataset, column string) error {
	if _, hot := hotKinds[column]; hot {
		return fmt.Errorf("duckdb store: column %q is part of every event: %w", column, errors.ErrUnsupported)
	}
	return s.catalogChange(ctx, env, dataset, func(conn driverConn, e *envReg, d *dsReg) (func(), error) {
		if !d.hasKey(column) {
			return nil, fmt.Errorf("column %q of dataset %q: %w", column, dataset, store.ErrNotFound)
		}
		t, ds := e.eventsTable(), strconv.Itoa(int(d.id))
		for _, a := range e.byKey[column] {
			if _, ok := d.cols[colKey{a.key, a.kind}]; !ok {
				continue
			}
			if err := execArgs(ctx, conn, `UPDATE `+t+` SET `+a.name+` = NULL WHERE ds = `+ds+` AND `+a.name+` IS NOT NULL`); err != nil {
				return nil, err
			}
		}
		if id, ok := e.keyIDs[column]; ok {
			kid := strconv.Itoa(int(id))
			for k := model.KindString; k <= model.KindBool; k++ {
				if _, ok := d.cols[colKey{column, k}]; !ok || !e.overflow[colKey{column, k}] {
					continue
				}
				ks, vs := overflowKeys[k], overflowVals[k]
				// The values first, by position in the keys list as it was.
				q := `UPDATE ` + t + ` SET ` + vs + ` = list_filter(` + vs + `, (v, i) -> ` + ks + `[i] <> ` + kid + `), ` +
					ks + ` = list_filter(` + ks + `, x -> x <> ` + kid + `) WHERE ds = ` + ds + ` AND list_contains(` + ks + `, ` + kid + `)`
				if err := execArgs(ctx, conn, q); err != nil {
					return nil, err
				}
			}
		}
		if err := execArgs(ctx, conn, `DELETE FROM dataset_columns WHERE env = ? AND ds = ? AND key = ?`, int32(e.id), d.id, column); err != nil {
			return nil, err
		}
		if err := deleteTimes(ctx, conn, e.id, d.id, &column); err != nil {
			return nil, err
		}
		return func() {
			d := e.ownDataset(d)
			for k := model.KindString; k <= model.KindBool; k++ {
				delete(d.cols, colKey{column, k})
			}
			d.nkeys--
			e.ncols--
		}, nil
	})
}

// catalogChange runs change in one transaction on the write connection
// against dataset of env, and once committed applies the registry change
// it returned and publishes the registry.
func (s *Store) catalogChange(ctx context.Context, env, dataset string,
	change func(conn driverConn, e *envReg, d *dsReg) (apply func(), err error)) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.flushMu.Lock() // the change deletes catalog_times rows
	defer s.flushMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.wc == nil {
		return s.readOnlyErr()
	}
	reg := s.reg.Load().clone()
	e := reg.ownEnv(env, false)
	var d *dsReg
	if e != nil {
		d = e.findDataset(dataset)
	}
	if d == nil {
		return fmt.Errorf("dataset %q: %w", dataset, store.ErrNotFound)
	}
	err := s.wc.Raw(func(dc any) error {
		conn, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		var apply func()
		err := inTx(ctx, conn, func() error {
			var err error
			apply, err = change(conn, e, d)
			return err
		})
		if err != nil {
			return err
		}
		s.pubMu.Lock()
		defer s.pubMu.Unlock()
		apply()
		s.deletedSince = true
		e.w = nil
		s.reg.Store(reg)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("duckdb store: %w", s.writeFailed(err))
	}
	return err
}

// execArgs runs a statement on a driver connection.
func execArgs(ctx context.Context, conn driverConn, q string, args ...any) error {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	_, err := conn.ExecContext(ctx, q, nv)
	return err
}

// queryInt runs a query of one integer on a driver connection.
func queryInt(ctx context.Context, conn driverConn, q string) (int64, error) {
	rows, err := conn.QueryContext(ctx, q, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 1)
	if err := rows.Next(vals); err != nil {
		return 0, err
	}
	switch v := vals[0].(type) {
	case int64:
		return v, nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("%s: unexpected %T", q, vals[0])
}
