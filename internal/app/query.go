package app

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	queryapi "github.com/tracecomb/tracecomb/internal/api/query"
)

// registerQuery mounts Honeycomb's Query Data and Markers API when the store
// can aggregate (every store the project ships can).
func (a *App) registerQuery(ctx context.Context, mux *http.ServeMux) error {
	st, ok := a.store.(queryapi.Store)
	if !ok {
		return fmt.Errorf("store %T cannot run queries", a.store)
	}
	uiURL := ""
	if a.cfg.UIAddr != "" {
		uiURL = "http://" + displayAddr(a.cfg.UIAddr)
	}
	if err := queryapi.ImportMarkers(ctx, a.state, filepath.Join(a.cfg.DataDir, "markers")); err != nil {
		return err
	}
	return queryapi.Register(mux, queryapi.Deps{
		Auth:   a.registry,
		Store:  st,
		State:  a.state,
		Logger: a.logger.With("component", "query-api"),
		UIURL:  uiURL,
		// QueryTimeout bounds each run (--query-timeout).
		QueryTimeout: a.cfg.QueryTimeout,
		Now:          a.cfg.Clock,
	})
}
