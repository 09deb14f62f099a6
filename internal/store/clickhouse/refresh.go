package clickhouse

import (
	"context"
)

// Several tracecomb processes may write one database (the nodes of a
// cluster behind a load balancer). Each keeps the catalog in memory and
// writes its changes to the catalog tables before using them; Refresh
// reads those tables again, so a process sees the datasets, fields,
// deletes and retention settings the others made, every
// Config.CatalogRefreshInterval.

// Refresh reads the catalog from the server again and makes it the
// store's, keeping this process's last-written times not yet flushed and
// its aborted Writes. It holds the write lock while it reads: a Write
// waits for it.
func (s *Store) Refresh(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	// Every change this process made is in the catalog tables by now
	// (Writes, deletes and SetRetention write them before changing the
	// memory, under wmu), except last-written times and aborted Writes
	// whose row could not be stored.
	cat, _, err := s.loadCatalog(ctx, false)
	if err != nil {
		return wrap("refresh the catalog", err)
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	old := s.cat
	for slug, e := range cat.envs {
		oe := old.envs[slug]
		if oe == nil {
			continue
		}
		for id, d := range e.byID {
			od := oe.byID[id]
			if od == nil {
				continue
			}
			d.times.last, d.times.dirty = max(d.times.last, od.times.last), od.times.dirty
			for k, c := range d.cols {
				if oc := od.cols[k]; oc != nil {
					c.last, c.dirty = max(c.last, oc.last), oc.dirty
				}
			}
		}
		for k, m := range oe.kinds {
			e.kinds[k] |= m
		}
		e.replaced = e.replaced || oe.replaced
	}
	known := map[uint64]bool{}
	for _, w := range cat.aborted {
		known[w] = true
	}
	for _, w := range old.aborted {
		if !known[w] {
			cat.aborted = append(cat.aborted, w)
		}
	}
	s.cat = cat
	return nil
}
