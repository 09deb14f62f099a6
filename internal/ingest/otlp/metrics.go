package otlp

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by the HTTP and gRPC doors; registering twice on one
// Registerer reuses the collectors already there.
type metrics struct {
	// received and rejected count the items of each signal (spans, log
	// records, data points), indexed by signalKind.
	received [numSignals]*prometheus.CounterVec // transport
	rejected [numSignals]*prometheus.CounterVec // transport
	events   *prometheus.CounterVec             // signal, transport
	requests *prometheus.CounterVec             // signal, transport, code
}

const (
	transportHTTP = "http"
	transportGRPC = "grpc"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_events_total",
			Help: "Events (spans, span events, links, log records, metric events) handed to the consumer and accepted.",
		}, []string{"signal", "transport"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_requests_total",
			Help: "OTLP export requests by signal, transport and response code (HTTP status or gRPC code).",
		}, []string{"signal", "transport", "code"}),
	}
	for k := range signalKind(numSignals) {
		s := signals[k]
		m.received[k] = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_" + s.metricItems + "_received_total",
			Help: "OTLP " + s.items + " received, valid or not.",
		}, []string{"transport"})
		m.rejected[k] = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_otlp_" + s.metricItems + "_rejected_total",
			Help: "OTLP " + s.items + " rejected (" + s.rejectWhy + ").",
		}, []string{"transport"})
	}
	if reg == nil {
		return m, nil
	}
	all := []**prometheus.CounterVec{&m.events, &m.requests}
	for k := range m.received {
		all = append(all, &m.received[k], &m.rejected[k])
	}
	for _, p := range all {
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
