package otlp

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by the HTTP and gRPC doors; registering twice on one
// Registerer reuses the collectors already there.
type metrics struct {
	spansReceived *prometheus.CounterVec // transport
	spansRejected *prometheus.CounterVec // transport
	events        *prometheus.CounterVec // transport
	requests      *prometheus.CounterVec // transport, code
}

const (
	transportHTTP = "http"
	transportGRPC = "grpc"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		spansReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_spans_received_total",
			Help: "OTLP spans received, valid or not.",
		}, []string{"transport"}),
		spansRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_spans_rejected_total",
			Help: "OTLP spans rejected for invalid trace, span or parent ids.",
		}, []string{"transport"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_events_total",
			Help: "Events (spans, span events, links) handed to the consumer and accepted.",
		}, []string{"transport"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_requests_total",
			Help: "OTLP export requests by transport and response code (HTTP status or gRPC code).",
		}, []string{"transport", "code"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, p := range []**prometheus.CounterVec{&m.spansReceived, &m.spansRejected, &m.events, &m.requests} {
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
