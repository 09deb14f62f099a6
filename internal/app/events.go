package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/tracecomb/tracecomb/internal/api/honeycomb"
	"github.com/tracecomb/tracecomb/internal/ingest/events"
)

// registerEvents mounts Honeycomb's Events API (/1/events/{dataset},
// /1/batch/{dataset}) on the API door. Its events go to the Honeycomb
// door's consumer (the batcher's durable group commit). A dataset's
// expand_json_depth is the one set through /1/datasets (0, Honeycomb's
// default, until set); its dataset definitions (/1/dataset_definitions,
// read from defs) name columns that fill hot fields such as the trace id.
func (a *App) registerEvents(mux *http.ServeMux, d doorDeps, defs *honeycomb.Definitions) {
	h, err := events.NewHandler(events.DefaultConfig(), events.Deps{
		Logger:   d.logger.With("door", "events"),
		Metrics:  d.metrics,
		Auth:     d.auth,
		Consumer: d.consumer,
		Inflater: d.inflater,
		DatasetExists: func(ctx context.Context, env, dataset string) (bool, error) {
			dss, err := a.store.Datasets(ctx, env)
			if err != nil {
				return false, err
			}
			for _, ds := range dss {
				if strings.EqualFold(ds.Name, dataset) {
					return true, nil
				}
			}
			return false, nil
		},
		ExpandJSONDepth: func(ctx context.Context, env, dataset string) int {
			depth, err := honeycomb.ExpandJSONDepth(ctx, a.state, env, dataset)
			if err != nil {
				d.logger.Warn("cannot read a dataset's expand_json_depth; using 0", "dataset", dataset, "err", err)
			}
			return depth
		},
		FieldNames: func(ctx context.Context, env, dataset string) map[string]string {
			f, err := defs.Fields(ctx, env, dataset)
			if err != nil {
				d.logger.Warn("cannot read a dataset's definitions; its events keep their fields' own names", "dataset", dataset, "err", err)
			}
			return f
		},
	})
	if err != nil {
		panic(err) // the default configuration is valid: a wiring mistake
	}
	h.Register(mux)
}
