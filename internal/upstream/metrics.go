package upstream

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one forwarder's, labelled with its target.
type metrics struct {
	enqueued, sent, redelivered prometheus.Counter
	retries, dropped            *prometheus.CounterVec
	lag, queuedBytes            prometheus.Collector
	collectors                  []prometheus.Collector
}

func newMetrics(target string, f *Forwarder) *metrics {
	labels := prometheus.Labels{"target": target}
	m := &metrics{
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{Name: "tracecomb_forward_enqueued_events_total", ConstLabels: labels,
			Help: "Events (for X-Ray: segment documents) queued on disk for forwarding, after they were stored."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "tracecomb_forward_sent_events_total", ConstLabels: labels,
			Help: "Events (for X-Ray: segment documents) the target accepted."}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "tracecomb_forward_redelivered_events_total", ConstLabels: labels,
			Help: "Events sent again after a restart because the previous run was sending them when it stopped: the target may hold them twice."}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracecomb_forward_retries_total", ConstLabels: labels,
			Help: "Events sent again after a retryable failure, by reason: network, status_429, status_5xx, partial (the target answered some events of a request with a retryable status)."}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracecomb_forward_dropped_events_total", ConstLabels: labels,
			Help: "Events that will not be forwarded, by reason: queue_full (oldest dropped to stay within the queue's bound), rejected (the target refused the request with a permanent 4xx), event_rejected (refused one by one: a per-event status, an unprocessed segment), too_large (over the target's event or document limit), enqueue_failed (could not be written to the queue), corrupt (damaged queue records)."}, []string{"reason"}),
	}
	for _, r := range []string{"queue_full", "rejected", "event_rejected", "too_large", "enqueue_failed", "corrupt"} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{"network", "status_429", "status_5xx", "partial"} {
		m.retries.WithLabelValues(r)
	}
	queuedBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracecomb_forward_queued_bytes", ConstLabels: labels,
		Help: "Bytes of the forward queue on disk not yet sent."}, func() float64 { b, _ := f.q.Stats(); return float64(b) })
	queuedEvents := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracecomb_forward_queued_events", ConstLabels: labels,
		Help: "Events of the forward queue not yet sent."}, func() float64 { _, n := f.q.Stats(); return float64(n) })
	maxBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracecomb_forward_queue_max_bytes", ConstLabels: labels,
		Help: "The forward queue's bound (--forward-queue-max-bytes)."}, func() float64 { return float64(f.cfg.MaxQueueBytes) })
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracecomb_forward_lag_seconds", ConstLabels: labels,
		Help: "How long the oldest event not yet sent has been queued; 0 when the queue is empty."}, func() float64 {
		ns := f.lag.Load()
		if ns == 0 {
			return 0
		}
		return max(0, time.Since(time.Unix(0, ns)).Seconds())
	})
	m.lag, m.queuedBytes = lag, queuedBytes
	m.collectors = []prometheus.Collector{m.enqueued, m.sent, m.redelivered, m.retries, m.dropped, queuedBytes, queuedEvents, maxBytes, lag}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	for i, c := range m.collectors {
		if err := r.Register(c); err != nil {
			for _, d := range m.collectors[:i] {
				r.Unregister(d)
			}
			return err
		}
	}
	return nil
}
