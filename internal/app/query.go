package app

import (
	"fmt"
	"net/http"
	"path/filepath"

	queryapi "github.com/tracecomb/tracecomb/internal/api/query"
)

// registerQuery mounts Honeycomb's Query Data and Markers API when the store
// can aggregate (every store the project ships can).
func (a *App) registerQuery(mux *http.ServeMux) error {
	st, ok := a.store.(queryapi.Store)
	if !ok {
		return fmt.Errorf("store %T cannot run queries", a.store)
	}
	uiURL := ""
	if a.cfg.UIAddr != "" {
		uiURL = "http://" + displayAddr(a.cfg.UIAddr)
	}
	return queryapi.Register(mux, queryapi.Deps{
		Auth:       a.registry,
		Store:      st,
		Logger:     a.logger.With("component", "query-api"),
		MarkersDir: filepath.Join(a.cfg.DataDir, "markers"),
		UIURL:      uiURL,
	})
}
