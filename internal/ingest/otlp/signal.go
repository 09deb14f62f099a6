package otlp

import (
	"strconv"
	"strings"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Paths the HTTP handler serves, one pattern with and one without the
// trailing slash (Refinery accepts both) for each signal.
const (
	PathTraces       = "/v1/traces"
	PathTracesSlash  = "/v1/traces/"
	PathLogs         = "/v1/logs"
	PathLogsSlash    = "/v1/logs/"
	PathMetrics      = "/v1/metrics"
	PathMetricsSlash = "/v1/metrics/"
)

// Paths lists every path NewHTTPHandler serves; mount the handler on each.
var Paths = []string{PathTraces, PathTracesSlash, PathLogs, PathLogsSlash, PathMetrics, PathMetricsSlash}

// signalKind is one of the three OTLP signals.
type signalKind uint8

const (
	sigTraces signalKind = iota
	sigLogs
	sigMetrics
	numSignals
)

// signalSpec is what the doors say and count differently per signal; the
// HTTP body handling, authentication, limits and error mapping are shared.
type signalSpec struct {
	name        string // metric label and log field: traces, logs, metrics
	path        string
	envVar      string // the exporter's per-signal endpoint variable
	items       string // what the signal's request carries, for messages
	metricItems string // the same in a metric name
	rejectWhy   string
}

var signals = [numSignals]signalSpec{
	sigTraces: {
		name: "traces", path: PathTraces, envVar: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		items: "spans", metricItems: "spans", rejectWhy: "invalid trace, span or parent ids",
	},
	sigLogs: {
		name: "logs", path: PathLogs, envVar: "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
		items: "log records", metricItems: "log_records", rejectWhy: "never: an invalid trace context is dropped, the record kept",
	},
	sigMetrics: {
		name: "metrics", path: PathMetrics, envVar: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		items: "data points", metricItems: "data_points", rejectWhy: "no metric name, no value, or inconsistent buckets",
	},
}

// signalOf returns the signal whose path (with or without a trailing
// slash) is path.
func signalOf(path string) (signalKind, bool) {
	for k := range signalKind(numSignals) {
		p := signals[k].path
		if path == p || (len(path) == len(p)+1 && strings.HasPrefix(path, p) && path[len(p)] == '/') {
			return k, true
		}
	}
	return 0, false
}

// WrongPathMessage is the 404 answer to a path that is not an OTLP/HTTP
// path, saying how the usual misconfigurations are fixed: an exporter
// whose base endpoint already ends in a signal's path gets told that the
// SDK appends that path itself.
func WrongPathMessage(path string) string {
	trimmed := strings.TrimSuffix(path, "/")
	for _, s := range signals {
		if strings.HasSuffix(trimmed, s.path) {
			return "unknown path " + path + ": OTEL_EXPORTER_OTLP_ENDPOINT is the base URL (http://host:4318) and the SDK appends " +
				s.path + " itself; " + s.envVar + " is the one that takes the whole URL"
		}
	}
	return "unknown path " + path + ": OTLP/HTTP traces go to " + PathTraces + ", logs to " + PathLogs + ", metrics to " + PathMetrics
}

// responseProto is the signal's Export*ServiceResponse, with
// partial_success set only when something was rejected.
func (k signalKind) responseProto(res Result) proto.Message {
	rejected := res.Rejected > 0
	switch k {
	case sigLogs:
		resp := &collogspb.ExportLogsServiceResponse{}
		if rejected {
			resp.PartialSuccess = &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: int64(res.Rejected), ErrorMessage: res.RejectMessage}
		}
		return resp
	case sigMetrics:
		resp := &colmetricspb.ExportMetricsServiceResponse{}
		if rejected {
			resp.PartialSuccess = &colmetricspb.ExportMetricsPartialSuccess{RejectedDataPoints: int64(res.Rejected), ErrorMessage: res.RejectMessage}
		}
		return resp
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: int64(res.Rejected), ErrorMessage: res.RejectMessage}
	}
	return resp
}

// appendResponseJSON writes the signal's Export*ServiceResponse in
// OTLP/JSON: {} on full success, partialSuccess otherwise.
func (k signalKind) appendResponseJSON(dst []byte, res Result) []byte {
	if res.Rejected == 0 {
		return append(dst, "{}"...)
	}
	field := "rejectedSpans"
	switch k {
	case sigLogs:
		field = "rejectedLogRecords"
	case sigMetrics:
		field = "rejectedDataPoints"
	}
	dst = append(dst, `{"partialSuccess":{"`...)
	dst = append(dst, field...)
	dst = append(dst, `":"`...)
	dst = strconv.AppendInt(dst, int64(res.Rejected), 10)
	dst = append(dst, `","errorMessage":`...)
	dst = appendJSONString(dst, res.RejectMessage)
	return append(dst, "}}"...)
}

// decode turns a request body of the signal into events, within ri's
// memory bounds.
func (k signalKind) decode(enc bodyEncoding, body []byte, ri RequestInfo) (Result, error) {
	switch k {
	case sigLogs:
		if enc == encJSON {
			return DecodeLogsJSON(body, ri)
		}
		return DecodeLogsProtobuf(body, ri)
	case sigMetrics:
		if enc == encJSON {
			return DecodeMetricsJSON(body, ri)
		}
		return DecodeMetricsProtobuf(body, ri)
	}
	if enc == encJSON {
		return DecodeJSON(body, ri)
	}
	return DecodeProtobuf(body, ri)
}
