package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/tracecomb/tracecomb/internal/ingest/events"
)

// registerEvents mounts Honeycomb's Events API (/1/events/{dataset},
// /1/batch/{dataset}) on the API door. Its events go to the Honeycomb
// door's consumer (the batcher's durable group commit). Datasets have no
// settings yet, so every dataset's expand_json_depth is Honeycomb's
// default, 0.
func (a *App) registerEvents(mux *http.ServeMux, d doorDeps) {
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
	})
	if err != nil {
		panic(err) // the default configuration is valid: a wiring mistake
	}
	h.Register(mux)
}
