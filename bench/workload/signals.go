package workload

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

// Signals is one workload encoded three ways, item for item the same
// spans: OTLP trace export requests, Honeycomb Events API batches (one per
// service and trace batch, an event per span with the fields Honeycomb
// gives a span) and OTLP log export requests (a log record per span: the
// span's attributes, its name as the body, its trace context).
type Signals struct {
	Traces  []Batch
	Events  []Batch
	Logs    []Batch
	Samples []Sample
}

// SignalBatches generates batches of tracesPerBatch traces until at least
// spans spans and encodes each as all three signals.
func (g *Generator) SignalBatches(spans, tracesPerBatch int) (*Signals, error) {
	traces := max(1, (spans+SpansPerTrace-1)/SpansPerTrace)
	g.next, g.step = g.now().Add(-Window), Window/time.Duration(traces)
	defer func() { g.step = 0 }()
	out := &Signals{}
	for total := 0; total < spans; {
		n := min(tracesPerBatch, (spans-total+SpansPerTrace-1)/SpansPerTrace)
		req, s := g.Traces(n)
		body, err := proto.Marshal(req)
		if err != nil {
			return nil, err
		}
		out.Traces = append(out.Traces, Batch{Body: body, Spans: n * SpansPerTrace})
		out.Samples = append(out.Samples, s)
		events, err := EventBatches(req)
		if err != nil {
			return nil, err
		}
		out.Events = append(out.Events, events...)
		logs, err := LogBatch(req)
		if err != nil {
			return nil, err
		}
		out.Logs = append(out.Logs, logs)
		total += n * SpansPerTrace
	}
	return out, nil
}

// batchEvent is one element of a /1/batch body.
type batchEvent struct {
	Time string         `json:"time"`
	Data map[string]any `json:"data"`
}

// EventBatches encodes req's spans as Honeycomb Events API batches, one
// JSON /1/batch/{dataset} request per service.
func EventBatches(req *coltracepb.ExportTraceServiceRequest) ([]Batch, error) {
	var out []Batch
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		var events []batchEvent
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				data := map[string]any{
					"trace.trace_id": hex.EncodeToString(sp.TraceId),
					"trace.span_id":  hex.EncodeToString(sp.SpanId),
					"name":           sp.Name,
					"service.name":   service,
					"duration_ms":    float64(sp.EndTimeUnixNano-sp.StartTimeUnixNano) / 1e6,
					"span.kind":      "server",
				}
				if len(sp.ParentSpanId) > 0 {
					data["trace.parent_id"] = hex.EncodeToString(sp.ParentSpanId)
				}
				for _, kv := range sp.Attributes {
					data[kv.Key] = kv.Value.GetStringValue()
				}
				events = append(events, batchEvent{
					Time: time.Unix(0, int64(sp.StartTimeUnixNano)).UTC().Format(time.RFC3339Nano),
					Data: data,
				})
			}
		}
		body, err := json.Marshal(events)
		if err != nil {
			return nil, err
		}
		out = append(out, Batch{Path: "/1/batch/" + url.PathEscape(service), ContentType: "application/json", Body: body, Spans: len(events)})
	}
	return out, nil
}

// LogBatch encodes req's spans as one OTLP ExportLogsServiceRequest.
func LogBatch(req *coltracepb.ExportTraceServiceRequest) (Batch, error) {
	lreq := &collogspb.ExportLogsServiceRequest{}
	n := 0
	for _, rs := range req.ResourceSpans {
		rl := &logspb.ResourceLogs{Resource: rs.Resource}
		for _, ss := range rs.ScopeSpans {
			sl := &logspb.ScopeLogs{Scope: ss.Scope}
			for _, sp := range ss.Spans {
				sl.LogRecords = append(sl.LogRecords, &logspb.LogRecord{
					TimeUnixNano:         sp.StartTimeUnixNano,
					ObservedTimeUnixNano: sp.EndTimeUnixNano,
					SeverityNumber:       logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
					SeverityText:         "INFO",
					Body:                 &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: sp.Name}},
					Attributes:           sp.Attributes,
					TraceId:              sp.TraceId,
					SpanId:               sp.SpanId,
				})
				n++
			}
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
		}
		lreq.ResourceLogs = append(lreq.ResourceLogs, rl)
	}
	body, err := proto.Marshal(lreq)
	if err != nil {
		return Batch{}, fmt.Errorf("encode logs: %w", err)
	}
	return Batch{Path: "/v1/logs", ContentType: "application/x-protobuf", Body: body, Spans: n}, nil
}
