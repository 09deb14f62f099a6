package xray

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Labels of the dropped and rejected counters beyond the datagram reasons
// and segment error codes.
const (
	reasonInternal = "internal_error" // the decoder failed unexpectedly
	dropQueueFull  = "queue_full"     // the consumer fell behind
	// dropPendingFull: the budget of bytes waiting for a commit, shared
	// with the other doors, is used up.
	dropPendingFull = "pending_full"
	dropConsumer    = "consumer_error" // the consumer returned an error
	// dropShutdown: Shutdown's deadline passed before the datagram was
	// decoded or queued.
	dropShutdown = "shutdown"
	// dropSocketBuffer: the kernel dropped datagrams because the socket's
	// receive buffer was full (counted where the kernel reports it).
	dropSocketBuffer = "socket_buffer"
)

type metrics struct {
	received prometheus.Counter
	rejected *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	spans    prometheus.Counter
	refused  prometheus.Counter
	queue    prometheus.GaugeFunc
	bytes    prometheus.GaugeFunc
	raw      prometheus.GaugeFunc
}

func newMetrics(queueLen, queueBytes, rawBytes func() float64) *metrics {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_segments_received_total",
			Help: "Datagrams received on the X-Ray daemon UDP port.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_xray_segments_rejected_total",
			Help: "Datagrams dropped as malformed, by reason (bad header, empty body, or the segment error code).",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracecomb_xray_segments_dropped_total",
			Help: "Datagrams and segment documents lost because the daemon's queues (datagrams, decoded documents) or the pending ingest budget were full, because the consumer failed, or because shutdown's deadline passed.",
		}, []string{"reason"}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_spans_consumed_total",
			Help: "Spans decoded from X-Ray segments and accepted by the consumer.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_xray_spans_refused_total",
			Help: "Spans decoded from X-Ray segments that the store refused (its column limits, see --max-dataset-columns); the rest of their batch was stored.",
		}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_xray_queue_documents",
			Help: "Decoded segment documents waiting for the consumer.",
		}, queueLen),
		bytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_xray_queue_bytes",
			Help: "Memory held by decoded segment documents not yet stored (estimated; bounded by --xray-queue-bytes).",
		}, queueBytes),
		raw: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_xray_datagram_queue_bytes",
			Help: "Memory held by datagrams received and not yet decoded (bounded by --xray-datagram-bytes).",
		}, rawBytes),
	}
	// Every reason shows up from the start, at zero.
	for _, r := range []string{ReasonNoHeader, ReasonBadHeader, ReasonEmptyBody, reasonInternal} {
		m.rejected.WithLabelValues(r)
	}
	for _, c := range ErrorCodes {
		m.rejected.WithLabelValues(c)
	}
	m.dropped.WithLabelValues(dropQueueFull)
	m.dropped.WithLabelValues(dropConsumer)
	m.dropped.WithLabelValues(dropPendingFull)
	m.dropped.WithLabelValues(dropShutdown)
	m.dropped.WithLabelValues(dropSocketBuffer)
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m.received, m.rejected, m.dropped, m.spans, m.refused, m.queue, m.bytes, m.raw} {
		errs = append(errs, r.Register(c))
	}
	return errors.Join(errs...)
}
