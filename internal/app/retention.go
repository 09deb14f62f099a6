package app

import (
	"context"

	"github.com/tracecomb/tracecomb/internal/api/ui"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// Retention per environment. The --retention-age and --retention-size
// flags are the default of every environment; an environment's own
// setting, made in the UI (Settings → Retention, PUT
// /ui-api/settings/environments/{env}/retention), replaces both bounds
// for it and is kept in the store, so it survives restarts; DELETE on the
// same path returns the environment to the flags. The store enforces
// either at least every minute, and at once after a change.

// retentionReporter is what the store reports of retention beyond
// store.Retainer (the embedded store, duckdb.Store.RetentionReport).
type retentionReporter interface {
	RetentionReport(ctx context.Context, env string) (duckdb.RetentionReport, error)
}

// uiRetention adapts the store to the UI door's Retention, or returns nil
// when the store reports no retention (the UI then answers 404).
func (a *App) uiRetention() ui.Retention {
	rep, ok := a.store.(retentionReporter)
	if !ok {
		return nil
	}
	return storeRetention{Retainer: a.store, rep: rep}
}

type storeRetention struct {
	store.Retainer
	rep retentionReporter
}

func (s storeRetention) RetentionStatus(ctx context.Context, env string) (ui.RetentionStatus, error) {
	r, err := s.rep.RetentionReport(ctx, env)
	if err != nil {
		return ui.RetentionStatus{}, err
	}
	return ui.RetentionStatus{InForce: r.Retention, Own: r.Own, Default: r.Default, Bytes: r.Bytes, Oldest: r.Oldest,
		Measured: r.Measured, WALBytes: r.WALBytes, LastEnforced: r.LastPass, Interval: r.Interval, Deleted: r.Deleted}, nil
}
