package app

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// storeHealthz returns the /healthz handler over the store (healthHandler)
// and registers the store's own metrics, when it reports any, on the
// registry /metrics serves: the embedded store reports retention
// (tracecomb_store_retention_deleted_events_total, the oldest event per
// environment), its disk use and whether it can write.
func (a *App) storeHealthz() http.Handler {
	if c, ok := a.store.(prometheus.Collector); ok {
		var already prometheus.AlreadyRegisteredError
		if err := a.metrics.Register(c); err != nil && !errors.As(err, &already) {
			a.logger.Warn("the store's metrics cannot be served", "err", err)
		}
	}
	return healthHandler(a.store)
}
