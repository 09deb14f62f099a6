package store

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"slices"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// DoorEnv names the store environment that holds what was sent to door d
// of environment env. Honeycomb's doors write to env itself; X-Ray's to
// env + "/xray", a name no environment slug can take (slugs are a-z, 0-9
// and '-'), so each door's events have their own tables, datasets and
// columns, and no read of one door can see the other's.
func DoorEnv(env string, d model.Door) string {
	if d == model.DoorXRay {
		return env + "/xray"
	}
	return env
}

// XRayUnindexedEnv names the store environment that holds what was sent
// to X-Ray's doors of environment env in traces that Transaction Search
// did not index (the trace segment destination is CloudWatchLogs and the
// indexing rule left the trace out): X-Ray keeps such spans in CloudWatch
// Logs, where trace retrieval reads them and X-Ray's trace views do not.
// It follows env's retention like DoorEnv's parts.
func XRayUnindexedEnv(env string) string { return env + "/xray-unindexed" }

// DoorParts lists every store environment that holds what was sent to door
// d of env: DoorEnv's, and for X-Ray's doors XRayUnindexedEnv's too.
func DoorParts(env string, d model.Door) []string {
	if d == model.DoorXRay {
		return []string{DoorEnv(env, d), XRayUnindexedEnv(env)}
	}
	return []string{DoorEnv(env, d)}
}

// DoorView returns a Reader that reads, for each environment it is asked
// about, what was sent to the given doors of it (in DoorEnv's
// environments). With one door it only renames the environment; with
// several it joins their answers: a trace's events from every door, scans
// merged newest first, datasets and columns united by name.
func DoorView(r Reader, doors ...model.Door) Reader {
	return doorView{r: r, doors: slices.Clone(doors)}
}

type doorView struct {
	r     Reader
	doors []model.Door
}

func (v doorView) Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error) {
	if len(v.doors) == 1 {
		return v.r.Trace(ctx, DoorEnv(env, v.doors[0]), id)
	}
	var out []model.Event
	for _, d := range v.doors {
		evs, err := v.r.Trace(ctx, DoorEnv(env, d), id)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	slices.SortStableFunc(out, func(a, b model.Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func (v doorView) Datasets(ctx context.Context, env string) ([]Dataset, error) {
	if len(v.doors) == 1 {
		return v.r.Datasets(ctx, DoorEnv(env, v.doors[0]))
	}
	var lists [][]Dataset
	for _, d := range v.doors {
		list, err := v.r.Datasets(ctx, DoorEnv(env, d))
		if err != nil {
			return nil, err
		}
		lists = append(lists, list)
	}
	out := unite(lists, func(d Dataset) string { return d.Slug }, func(o *Dataset, d Dataset) {
		o.CreatedAt, o.LastWrittenAt = earliest(o.CreatedAt, d.CreatedAt), latest(o.LastWrittenAt, d.LastWrittenAt)
		o.Columns = max(o.Columns, d.Columns)
	})
	slices.SortFunc(out, func(a, b Dataset) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (v doorView) Columns(ctx context.Context, env, dataset string) ([]Column, error) {
	if len(v.doors) == 1 {
		return v.r.Columns(ctx, DoorEnv(env, v.doors[0]), dataset)
	}
	var lists [][]Column
	for _, d := range v.doors {
		list, err := v.r.Columns(ctx, DoorEnv(env, d), dataset)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lists = append(lists, list)
	}
	if len(lists) == 0 {
		return nil, ErrNotFound
	}
	out := unite(lists, func(c Column) Column { return Column{KeyName: c.KeyName, Type: c.Type} }, func(o *Column, c Column) {
		o.CreatedAt, o.LastWritten = earliest(o.CreatedAt, c.CreatedAt), latest(o.LastWritten, c.LastWritten)
	})
	slices.SortStableFunc(out, func(a, b Column) int { return cmp.Compare(a.KeyName, b.KeyName) })
	return out, nil
}

// unite returns the union of lists by key, merging an item into the first
// one with its key.
func unite[T any, K comparable](lists [][]T, key func(T) K, merge func(*T, T)) []T {
	at := map[K]int{}
	var out []T
	for _, list := range lists {
		for _, x := range list {
			k := key(x)
			if i, ok := at[k]; ok {
				merge(&out[i], x)
				continue
			}
			at[k] = len(out)
			out = append(out, x)
		}
	}
	return out
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Scan merges the doors' scans, newest first; the limit applies to the
// merged stream.
func (v doorView) Scan(ctx context.Context, env string, q ScanQuery) iter.Seq2[model.Event, error] {
	if len(v.doors) == 1 {
		return v.r.Scan(ctx, DoorEnv(env, v.doors[0]), q)
	}
	return func(yield func(model.Event, error) bool) {
		type head struct {
			next func() (model.Event, error, bool)
			ev   model.Event
			ok   bool
		}
		heads := make([]*head, len(v.doors))
		for i, d := range v.doors {
			next, stop := iter.Pull2(v.r.Scan(ctx, DoorEnv(env, d), q))
			defer stop()
			heads[i] = &head{next: next}
		}
		advance := func(h *head) error {
			ev, err, ok := h.next()
			h.ev, h.ok = ev, ok && err == nil
			return err
		}
		for _, h := range heads {
			if err := advance(h); err != nil {
				yield(model.Event{}, err)
				return
			}
		}
		n := 0
		for q.Limit == 0 || n < q.Limit {
			var best *head
			for _, h := range heads {
				if h.ok && (best == nil || h.ev.Time.After(best.ev.Time)) {
					best = h
				}
			}
			if best == nil {
				return
			}
			if !yield(best.ev, nil) {
				return
			}
			n++
			if err := advance(best); err != nil {
				yield(model.Event{}, err)
				return
			}
		}
	}
}
