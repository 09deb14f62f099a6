package events

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count by endpoint ("events" for /1/events, "batch" for
// /1/batch); registering twice on one Registerer reuses the collectors
// already there.
type metrics struct {
	received *prometheus.CounterVec // endpoint
	rejected *prometheus.CounterVec // endpoint
	stored   *prometheus.CounterVec // endpoint
	requests *prometheus.CounterVec // endpoint, code
}

const (
	endpointEvents = "events"
	endpointBatch  = "batch"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_events_api_events_received_total",
			Help: "Honeycomb Events API events in requests that could be read, valid or not.",
		}, []string{"endpoint"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_events_api_events_rejected_total",
			Help: "Honeycomb Events API events answered 400 (malformed, too large, too many fields, refused by the store).",
		}, []string{"endpoint"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_events_api_events_stored_total",
			Help: "Honeycomb Events API events committed and answered 202.",
		}, []string{"endpoint"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_events_api_requests_total",
			Help: "Honeycomb Events API requests by endpoint and HTTP status.",
		}, []string{"endpoint", "code"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, p := range []**prometheus.CounterVec{&m.received, &m.rejected, &m.stored, &m.requests} {
		if err := reg.Register(*p); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, err
			}
			*p = existing
		}
	}
	return m, nil
}
