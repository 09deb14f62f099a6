package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// DeleteDataset removes a dataset: its catalog row is marked deleted (so
// its id, never reused, is left out of every read from then on) and a
// mutation deletes its rows in the background. ClickHouse runs ALTER …
// DELETE asynchronously; the contract holds at once because reads filter
// the id, not because the rows are gone.
func (s *Store) DeleteDataset(ctx context.Context, env, dataset string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.cmu.RLock()
	e := s.cat.env(env)
	var d *dsCat
	if e != nil {
		d = e.findDataset(dataset)
	}
	s.cmu.RUnlock()
	if d == nil {
		return fmt.Errorf("clickhouse store: dataset %q: %w", dataset, store.ErrNotFound)
	}
	var b bytes.Buffer
	putString(&b, env)
	putU32(&b, d.id)
	putString(&b, d.name)
	putString(&b, d.slug)
	putI64(&b, d.times.created)
	b.WriteByte(1)
	putU64(&b, s.nextSeq())
	if err := s.c.insert(ctx, "datasets", "env, id, name, slug, created_ns, deleted, version", "RowBinary", b.Bytes()); err != nil {
		return wrap("delete dataset", err)
	}
	s.cmu.Lock()
	delete(e.datasets, strings.ToLower(d.name))
	delete(e.byID, d.id)
	e.deleted = append(e.deleted, d.id)
	e.ncols -= d.nkeys
	s.cmu.Unlock()
	if err := s.alter(ctx, "events", "DELETE WHERE env = ? AND ds = ?", env, int64(d.id)); err != nil {
		// The rows stay hidden; retention removes them with their partitions.
		s.cfg.Logger.Warn("clickhouse store: start deleting a dataset's rows", "env", env, "dataset", d.name, "err", err)
	}
	return nil
}

// DeleteColumn removes a field from a dataset: a column_deletes row says
// that the dataset's rows written up to now lose it (reads drop it from
// those rows at once), its catalog rows are marked deleted, and a mutation
// filters it out of the stored lists in the background.
func (s *Store) DeleteColumn(ctx context.Context, env, dataset, column string) error {
	if isHot(column) {
		return fmt.Errorf("clickhouse store: column %q is part of every event: %w", column, errors.ErrUnsupported)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.cmu.RLock()
	e := s.cat.env(env)
	var d *dsCat
	if e != nil {
		d = e.findDataset(dataset)
	}
	var kinds []model.Kind
	if d != nil {
		for k := model.KindString; k <= model.KindBool; k++ {
			if _, ok := d.cols[colKey{column, k}]; ok {
				kinds = append(kinds, k)
			}
		}
	}
	s.cmu.RUnlock()
	if d == nil {
		return fmt.Errorf("clickhouse store: dataset %q: %w", dataset, store.ErrNotFound)
	}
	if len(kinds) == 0 {
		return fmt.Errorf("clickhouse store: column %q of dataset %q: %w", column, dataset, store.ErrNotFound)
	}
	wseq := s.nextSeq()
	var del, cols bytes.Buffer
	putString(&del, env)
	putU32(&del, d.id)
	putString(&del, column)
	putU64(&del, wseq)
	for _, k := range kinds {
		putString(&cols, env)
		putU32(&cols, d.id)
		putString(&cols, column)
		cols.WriteByte(uint8(k))
		putI64(&cols, 0)
		cols.WriteByte(1)
		putU64(&cols, wseq)
	}
	if err := s.c.insert(ctx, "column_deletes", "env, ds, key, wseq", "RowBinary", del.Bytes()); err != nil {
		return wrap("delete column", err)
	}
	s.cmu.Lock()
	e.setColDelete(d.id, column, wseq)
	for _, k := range kinds {
		delete(d.cols, colKey{column, k})
	}
	d.nkeys--
	e.ncols--
	s.cmu.Unlock()
	if err := s.c.insert(ctx, "columns", "env, ds, key, kind, created_ns, deleted, version", "RowBinary", cols.Bytes()); err != nil {
		// column_deletes alone keeps the column deleted; Open would list it
		// again from columns, so say so.
		s.cfg.Logger.Warn("clickhouse store: mark a deleted column in the catalog", "env", env, "column", column, "err", err)
	}
	var sets []string
	var args []any
	for _, k := range kinds {
		kc, vc := listKeys[k], listVals[k]
		sets = append(sets, vc+" = arrayFilter((v, k) -> k != ?, "+vc+", "+kc+")")
		args = append(args, column)
	}
	for _, k := range kinds {
		sets = append(sets, listKeys[k]+" = arrayFilter(k -> k != ?, "+listKeys[k]+")")
		args = append(args, column)
	}
	args = append(args, env, int64(d.id), wseq)
	if err := s.alter(ctx, "events", "UPDATE "+strings.Join(sets, ", ")+" WHERE env = ? AND ds = ? AND wseq <= ?", args...); err != nil {
		s.cfg.Logger.Warn("clickhouse store: start deleting a column's values", "env", env, "column", column, "err", err)
	}
	return nil
}
