package otlp

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// TestLogsDataset: service.name, else the header, else unknown_log_source.
func TestLogsDataset(t *testing.T) {
	f := func(service *commonpb.KeyValue, header, wantDataset, wantService string) {
		t.Helper()
		rl := &logspb.ResourceLogs{Resource: &resourcepb.Resource{}, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{TimeUnixNano: 1}}}}}
		if service != nil {
			rl.Resource.Attributes = []*commonpb.KeyValue{service}
		}
		res, err := ConvertLogs(&collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{rl}}, RequestInfo{Dataset: header})
		mustf(t, err, "convert")
		if len(res.Events) != 1 || res.Events[0].Dataset != wantDataset || res.Events[0].ServiceName != wantService {
			t.Errorf("service %v header %q: %+v, want dataset %q service %q", service, header, res.Events, wantDataset, wantService)
		}
	}
	f(kvStr("service.name", " api "), "hdr", "api", " api ")
	f(kvStr("service.name", "unknown_service:node"), "hdr", "hdr", "unknown_service:node")
	f(kvStr("service.name", "   "), "", unknownLogSource, "   ")
	f(kvInt("service.name", 3), "hdr", "hdr", "3")
	f(nil, "", unknownLogSource, unknownLogSource)
	f(nil, "  ", unknownLogSource, unknownLogSource)
}

func TestSeverityText(t *testing.T) {
	want := map[int32]string{0: "unspecified", 1: "trace", 4: "trace", 5: "debug", 8: "debug", 9: "info", 12: "info",
		13: "warn", 16: "warn", 17: "error", 20: "error", 21: "fatal", 24: "fatal", 25: "unspecified", -1: "unspecified"}
	for n, w := range want {
		if got := severityText(logspb.SeverityNumber(n)); got != w {
			t.Errorf("severity %d: %q, want %q", n, got, w)
		}
	}
}

func TestQuantileKey(t *testing.T) {
	for q, want := range map[float64]string{0.5: "m.p50", 0.99: "m.p99", 0.999: "m.p999", 0.01: "m.p01", 0.001: "m.p001", 0.25: "m.p25", 0.9: "m.p90", 0.05: "m.p05"} {
		if got := quantileKey("m", q); got != want {
			t.Errorf("quantileKey(%v) = %q, want %q", q, got, want)
		}
	}
}

// TestExplicitPercentile checks Honeycomb's rule on hand-computed cases.
func TestExplicitPercentile(t *testing.T) {
	bounds := []float64{10, 50, 100}
	f := func(counts []uint64, p, want float64) {
		t.Helper()
		var n uint64
		for _, c := range counts {
			n += c
		}
		if got := explicitPercentile(n, counts, bounds, p); got != want {
			t.Errorf("counts %v p%v = %v, want %v", counts, p, got, want)
		}
	}
	f([]uint64{10, 0, 0, 0}, 0.99, 10)   // all in the first bucket: its upper bound
	f([]uint64{0, 10, 0, 0}, 0.5, 10)    // second bucket: its lower bound
	f([]uint64{0, 0, 0, 10}, 0.999, 100) // overflow bucket: the last bound
	f([]uint64{5, 5, 0, 0}, 0.5, 10)
	f([]uint64{5, 4, 1, 0}, 0.95, 50)
}

// TestExponentialPercentile: scale 0 means base 2, bucket k is (2^k, 2^(k+1)].
func TestExponentialPercentile(t *testing.T) {
	dp := &metricspb.ExponentialHistogramDataPoint{Count: 10, Scale: 0, ZeroCount: 2,
		Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 3, BucketCounts: []uint64{4, 0, 4}}}
	for p, want := range map[float64]float64{0.1: 0, 0.2: 8, 0.5: 8, 0.6: 32, 0.99: 32} {
		if got, ok := exponentialPercentile(dp, p); !ok || got != want {
			t.Errorf("p%v = %v %v, want %v", p, got, ok, want)
		}
	}
	neg := &metricspb.ExponentialHistogramDataPoint{Count: 2, Scale: 0,
		Negative: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: 0, BucketCounts: []uint64{1, 1}}}
	if got, _ := exponentialPercentile(neg, 0.1); got != -4 { // the most negative bucket first: [-4, -2)
		t.Errorf("negative p10 = %v, want -4", got)
	}
	huge := &metricspb.ExponentialHistogramDataPoint{Count: 1, Scale: 20,
		Positive: &metricspb.ExponentialHistogramDataPoint_Buckets{Offset: math.MaxInt32, BucketCounts: []uint64{1}}}
	if v, ok := exponentialPercentile(huge, 0.5); ok {
		t.Errorf("a bucket boundary past float64: %v, want it left out", v)
	}
}

// amplifying returns a small logs and a small metrics request whose
// resource attributes, copied onto each of their many items, would take
// more than 512 MiB of events.
func amplifying(t *testing.T) (logsPB, metricsPB []byte) {
	res := &resourcepb.Resource{}
	for i := range 1700 {
		res.Attributes = append(res.Attributes, kvInt(fmt.Sprintf("r%d", i), int64(i)))
	}
	records := make([]*logspb.LogRecord, 6000)
	points := make([]*metricspb.NumberDataPoint, 6000)
	for i := range records {
		records[i] = &logspb.LogRecord{}
		points[i] = &metricspb.NumberDataPoint{TimeUnixNano: uint64(i) * 1e9, Value: &metricspb.NumberDataPoint_AsInt{AsInt: 1}}
	}
	var err error
	logsPB, err = proto.Marshal(&collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{Resource: res, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: records}}}}})
	mustf(t, err, "marshal")
	metricsPB, err = proto.Marshal(&colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{Resource: res,
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: []*metricspb.Metric{{Name: "m", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: points}}}}}}}}})
	mustf(t, err, "marshal")
	return logsPB, metricsPB
}

// TestDecodedBudget: a small request that would expand past the decoded
// bytes limit is refused before its events are built (HTTP 413, little
// memory allocated). (Requests under the limit are decoded by every other
// test.)
func TestDecodedBudget(t *testing.T) {
	logsPB, metricsPB := amplifying(t)
	if len(logsPB) > 1<<20 || len(metricsPB) > 1<<20 {
		t.Fatalf("bodies of %d and %d bytes: not small", len(logsPB), len(metricsPB))
	}
	for _, c := range []struct {
		name string
		body []byte
		fn   func([]byte, RequestInfo) (Result, error)
		path string
	}{
		{"logs", logsPB, DecodeLogsProtobuf, PathLogs},
		{"metrics", metricsPB, DecodeMetricsProtobuf, PathMetrics},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := c.fn(c.body, RequestInfo{})
		runtime.ReadMemStats(&after)
		var tooLarge *DecodedTooLargeError
		if !errors.As(err, &tooLarge) || tooLarge.Limit != DefaultMaxDecodedBytes || tooLarge.Need <= tooLarge.Limit {
			t.Fatalf("%s: err %v, want a DecodedTooLargeError over the default limit", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: %d bytes allocated to refuse the request", c.name, alloc)
		}

		rec := &recorder{}
		h := NewHTTPHandler(Config{}, newDeps(rec, nil))
		a := serveOnce(t, h, http.MethodPost, c.path, "application/x-protobuf", "", goodKey, c.body)
		if a.status != http.StatusRequestEntityTooLarge || a.msg != tooLarge.Error() || len(rec.all()) != 0 {
			t.Errorf("%s over HTTP: %d %q, %d consume calls; want 413 %q and none", c.name, a.status, a.msg, len(rec.all()), tooLarge.Error())
		}
	}
}
