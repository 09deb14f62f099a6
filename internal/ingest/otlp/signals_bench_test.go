package otlp

import (
	"fmt"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// benchResource is the resource every benchmark request carries, as
// BenchmarkDecode's does.
func benchResource() *resourcepb.Resource {
	return &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
		kvStr("service.name", "checkout"),
		kvStr("service.version", "1.4.2"),
		kvStr("telemetry.sdk.language", "go"),
		kvStr("telemetry.sdk.name", "opentelemetry"),
		kvStr("telemetry.sdk.version", "1.47.0"),
		kvStr("host.name", "web-7f9c"),
	}}
}

// benchLogs is n log records with attrs attributes each (as the trace
// benchmark's spans have), a string body and, for half of them, trace
// context.
func benchLogs(n, attrs int) *collogspb.ExportLogsServiceRequest {
	sl := &logspb.ScopeLogs{Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/bridges/otelslog", Version: "0.12.0"}}
	for i := range n {
		lr := &logspb.LogRecord{
			TimeUnixNano:   uint64(1_700_000_000_000_000_000 + i*1000),
			SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_INFO,
			SeverityText:   "INFO",
			Body:           &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("handled request %d in 1.5 ms", i)}},
		}
		if i%2 == 0 {
			lr.TraceId = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)}
			lr.SpanId = []byte{1, 2, 3, 4, 5, 6, 7, byte(i)}
		}
		for a := range attrs {
			key := fmt.Sprintf("app.attr_%02d", a)
			switch a % 4 {
			case 0:
				lr.Attributes = append(lr.Attributes, kvStr(key, fmt.Sprintf("value-%d-%d", i, a)))
			case 1:
				lr.Attributes = append(lr.Attributes, kvInt(key, int64(i*a)))
			case 2:
				lr.Attributes = append(lr.Attributes, kvFloat(key, float64(a)/3))
			default:
				lr.Attributes = append(lr.Attributes, kvBool(key, i%2 == 0))
			}
		}
		sl.LogRecords = append(sl.LogRecords, lr)
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{Resource: benchResource(), ScopeLogs: []*logspb.ScopeLogs{sl}}}}
}

// benchMetrics is a request as an SDK's periodic reader sends it: series
// attribute sets, each with a counter, a gauge and a histogram point.
func benchMetrics(series int) (*colmetricspb.ExportMetricsServiceRequest, int) {
	attrs := func(i int) []*commonpb.KeyValue {
		return []*commonpb.KeyValue{kvStr("http.route", fmt.Sprintf("/api/item/%d", i)), kvStr("http.request.method", "GET"), kvInt("http.response.status_code", 200)}
	}
	ts := uint64(1_700_000_000_000_000_000)
	var counter, gauge []*metricspb.NumberDataPoint
	var hist []*metricspb.HistogramDataPoint
	for i := range series {
		counter = append(counter, &metricspb.NumberDataPoint{Attributes: attrs(i), TimeUnixNano: ts, StartTimeUnixNano: ts - 60e9, Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(i * 10)}})
		gauge = append(gauge, &metricspb.NumberDataPoint{Attributes: attrs(i), TimeUnixNano: ts, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: float64(i) / 7}})
		sum := float64(i) * 3.5
		hist = append(hist, &metricspb.HistogramDataPoint{Attributes: attrs(i), TimeUnixNano: ts, Count: 15, Sum: &sum,
			ExplicitBounds: []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000},
			BucketCounts:   []uint64{0, 1, 2, 3, 4, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}})
	}
	req := &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{Resource: benchResource(), ScopeMetrics: []*metricspb.ScopeMetrics{{
		Scope: &commonpb.InstrumentationScope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.60.0"},
		Metrics: []*metricspb.Metric{
			{Name: "http.server.requests", Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{DataPoints: counter, IsMonotonic: true, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}},
			{Name: "http.server.active", Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: gauge}}},
			{Name: "http.server.duration", Data: &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{DataPoints: hist, AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}},
		},
	}}}}}
	return req, 3 * series
}

func BenchmarkDecodeLogs(b *testing.B) {
	const records, attrs = 1000, 11
	req := benchLogs(records, attrs)
	pb, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	js := toOTLPJSON(b, req)
	for _, bc := range []struct {
		name string
		body []byte
		fn   func([]byte, RequestInfo) (Result, error)
	}{
		{"protobuf", pb, DecodeLogsProtobuf},
		{"json", js, DecodeLogsJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if res, err := bc.fn(bc.body, goldenInfo); err != nil || res.Accepted != records {
				b.Fatalf("accepted %d, %v", res.Accepted, err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				if _, err := bc.fn(bc.body, goldenInfo); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkDecodeMetrics(b *testing.B) {
	req, points := benchMetrics(300)
	pb, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	js := toOTLPJSON(b, req)
	for _, bc := range []struct {
		name string
		body []byte
		fn   func([]byte, RequestInfo) (Result, error)
	}{
		{"protobuf", pb, DecodeMetricsProtobuf},
		{"json", js, DecodeMetricsJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if res, err := bc.fn(bc.body, goldenInfo); err != nil || res.Accepted != points || len(res.Events) != points/3 {
				b.Fatalf("accepted %d points in %d events, %v", res.Accepted, len(res.Events), err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				if _, err := bc.fn(bc.body, goldenInfo); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*points)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
