package api

import (
	"context"
	"sort"

	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// KindDataset is the state kind of the dataset records that Honeycomb's
// Datasets API keeps, keyed by slug, in the environment's scope: a
// dataset made with POST /1/datasets exists before its first event.
const KindDataset state.Kind = "honeycomb.dataset"

// DatasetEntry is one dataset of an environment: the store's, when it has
// events (Found), and its Datasets API record, when it has one (HasRecord).
type DatasetEntry struct {
	Stored    store.Dataset
	Found     bool
	Record    state.Record
	HasRecord bool
}

// Datasets lists environment env's datasets: the store's in the store's
// order, each with its record, then the records that have no events yet,
// by slug. A nil states lists the store's only.
func Datasets(ctx context.Context, st interface {
	Datasets(ctx context.Context, env string) ([]store.Dataset, error)
}, states state.Store, env string) ([]DatasetEntry, error) {
	ds, err := st.Datasets(ctx, env)
	if err != nil {
		return nil, err
	}
	recs := map[string]state.Record{}
	if states != nil {
		rs, err := states.List(ctx, KindDataset, env)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			recs[r.Key] = r
		}
	}
	out := make([]DatasetEntry, 0, len(ds)+len(recs))
	for _, d := range ds {
		e := DatasetEntry{Stored: d, Found: true}
		e.Record, e.HasRecord = recs[d.Slug]
		delete(recs, d.Slug)
		out = append(out, e)
	}
	rest := make([]DatasetEntry, 0, len(recs))
	for _, r := range recs {
		rest = append(rest, DatasetEntry{Record: r, HasRecord: true})
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Record.Key < rest[j].Record.Key })
	return append(out, rest...), nil
}
