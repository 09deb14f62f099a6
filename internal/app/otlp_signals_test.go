package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sentSignals is what emitSignals sent.
type sentSignals struct {
	span trace.SpanContext // the span the first log was written in
}

// emitSignals sends, through the OTel Go SDK's own exporters configured
// only by the environment (endpoint, Honeycomb header, service name): a
// server span with an error log written inside it, a log outside any span,
// and one export of a counter, a gauge and a histogram.
func emitSignals(t *testing.T, protocol, endpoint, key, service string) sentSignals {
	t.Helper()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team="+key)
	t.Setenv("OTEL_SERVICE_NAME", service)
	ctx := context.Background()
	var (
		spanExp   sdktrace.SpanExporter
		logExp    sdklog.Exporter
		metricExp sdkmetric.Exporter
		errs      [3]error
	)
	switch protocol {
	case "http/protobuf":
		spanExp, errs[0] = otlptracehttp.New(ctx)
		logExp, errs[1] = otlploghttp.New(ctx)
		metricExp, errs[2] = otlpmetrichttp.New(ctx)
	case "grpc":
		spanExp, errs[0] = otlptracegrpc.New(ctx)
		logExp, errs[1] = otlploggrpc.New(ctx)
		metricExp, errs[2] = otlpmetricgrpc.New(ctx)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// resource.Default() is computed once per process; build the resource
	// from the environment each time, as a fresh process would.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spanExp), sdktrace.WithResource(res))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp)), sdklog.WithResource(res))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(time.Hour))), sdkmetric.WithResource(res))

	logger := lp.Logger("tracecomb/app_test")
	sctx, span := tp.Tracer("tracecomb/app_test").Start(ctx, "POST /api/jobs", trace.WithSpanKind(trace.SpanKindServer))
	var inSpan otellog.Record
	inSpan.SetTimestamp(time.Now())
	inSpan.SetSeverity(otellog.SeverityError)
	inSpan.SetSeverityText("ERROR")
	inSpan.SetEventName("job.failed")
	inSpan.SetBody(attribute.MapValue(attribute.String("msg", "job failed"), attribute.Int("attempt", 3)))
	inSpan.AddAttributes(attribute.String("job.id", "j-42"))
	logger.Emit(sctx, inSpan)
	span.End()

	var outside otellog.Record
	outside.SetSeverity(otellog.SeverityInfo)
	outside.SetBody(attribute.StringValue("worker started"))
	logger.Emit(ctx, outside)

	meter := mp.Meter("tracecomb/app_test")
	jobs, err := meter.Int64Counter("jobs.done")
	if err != nil {
		t.Fatal(err)
	}
	depth, err := meter.Float64Gauge("queue.depth")
	if err != nil {
		t.Fatal(err)
	}
	dur, err := meter.Float64Histogram("job.duration", metric.WithUnit("ms"))
	if err != nil {
		t.Fatal(err)
	}
	kind := metric.WithAttributes(attribute.String("job.kind", "email"))
	jobs.Add(ctx, 2, kind)
	jobs.Add(ctx, 1, kind)
	depth.Record(ctx, 7, kind)
	for _, v := range []float64{3, 12, 40, 90} {
		dur.Record(ctx, v, kind)
	}

	// Shutting down flushes; it fails if an export failed.
	for name, shutdown := range map[string]func(context.Context) error{"traces": tp.Shutdown, "logs": lp.Shutdown, "metrics": mp.Shutdown} {
		if err := shutdown(ctx); err != nil {
			t.Fatalf("%s export over %s: %v", name, protocol, err)
		}
	}
	return sentSignals{span: span.SpanContext()}
}

// signalQuery runs a query through the Query Data API (create the query,
// create its result, poll until complete) and returns the first result
// row.
func signalQuery(t *testing.T, base, key, dataset, spec string) map[string]any {
	t.Helper()
	rows := doorQuery(t, base, key, dataset, spec, "")
	if len(rows) == 0 {
		t.Fatalf("query %s on %s: no results", spec, dataset)
	}
	return rows[0]
}

// doorQuery runs a query as signalQuery does, with the result request's
// "doors" (a JSON list, or "" for none), and returns every result row.
func doorQuery(t *testing.T, base, key, dataset, spec, doors string) []map[string]any {
	t.Helper()
	post := func(path, body string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("X-Honeycomb-Team", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	code, _, body := post("/1/queries/"+dataset, spec)
	var q struct {
		ID string `json:"id"`
	}
	if code != 200 || json.Unmarshal(body, &q) != nil || q.ID == "" {
		t.Fatalf("create query on %s: %d %s", dataset, code, body)
	}
	result := `{"query_id":"` + q.ID + `"}`
	if doors != "" {
		result = `{"query_id":"` + q.ID + `","doors":` + doors + `}`
	}
	code, hdr, body := post("/1/query_results/"+dataset, result)
	if code != http.StatusCreated {
		t.Fatalf("create result: %d %s", code, body)
	}
	for range 100 {
		var r struct {
			Complete bool `json:"complete"`
			Data     struct {
				Results []struct {
					Data map[string]any `json:"data"`
				} `json:"results"`
			} `json:"data"`
		}
		if code := getJSON(t, base+hdr.Get("Location"), key, &r); code != 200 {
			t.Fatalf("get result: %d", code)
		}
		if r.Complete {
			rows := make([]map[string]any, len(r.Data.Results))
			for i, x := range r.Data.Results {
				rows[i] = x.Data
			}
			return rows
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("query result never completed")
	return nil
}

// columnTypes lists a dataset's columns through /1/columns.
func columnTypes(t *testing.T, base, key, dataset string) map[string]string {
	t.Helper()
	var cols []map[string]any
	if code := getJSON(t, base+"/1/columns/"+dataset, key, &cols); code != 200 {
		t.Fatalf("columns of %s: %d", dataset, code)
	}
	types := map[string]string{}
	for _, c := range cols {
		types[fmt.Sprint(c["key_name"])] = fmt.Sprint(c["type"])
	}
	return types
}

// TestOTelLogsAndMetricsSDK: the OTel Go SDK's log and metric exporters,
// over OTLP/HTTP, gRPC on the gRPC door and gRPC on the API door (h2c),
// export to tracecomb; the logs land in the
// service's dataset and the metrics in unknown_metrics (no dataset
// header), both queryable and in /1/columns; the log written inside a
// span is a span event of that span in /api/traces.
func TestOTelLogsAndMetricsSDK(t *testing.T) {
	for _, c := range []struct{ name, protocol string }{
		{"http/protobuf", "http/protobuf"},
		{"grpc", "grpc"},
		{"grpc on the API door (h2c)", "grpc"},
	} {
		protocol := c.protocol
		t.Run(c.name, func(t *testing.T) {
			a, key := testApp(t, t.TempDir())
			endpoint := "http://" + a.Addrs().HTTP
			if c.name == "grpc" {
				endpoint = "http://" + a.Addrs().OTLPGRPC
			}
			const service = "jobs-worker"
			sent := emitSignals(t, protocol, endpoint, key, service)
			base := "http://" + a.Addrs().HTTP

			// Logs: both stored in the service's dataset.
			counts := map[string]float64{}
			for _, sev := range []string{"error", "info"} {
				r := signalQuery(t, base, key, service, `{"calculations":[{"op":"COUNT"}],"filters":[{"column":"meta.signal_type","op":"=","value":"log"},{"column":"severity","op":"=","value":"`+sev+`"}],"time_range":3600}`)
				counts[sev], _ = r["COUNT"].(float64)
			}
			if counts["error"] != 1 || counts["info"] != 1 {
				t.Errorf("log counts by severity %v, want one error and one info", counts)
			}
			logCols := columnTypes(t, base, key, service)
			for k, want := range map[string]string{"severity": "string", "severity_code": "integer", "severity_text": "string", "body": "string",
				"body.msg": "string", "body.attempt": "integer", "job.id": "string", "event.name": "string", "flags": "integer", "meta.signal_type": "string"} {
				if logCols[k] != want {
					t.Errorf("column %s of %s: %q, want %q (all: %v)", k, service, logCols[k], want, logCols)
				}
			}

			// The log written in the span is on the span's trace, attached to it.
			var tr traceResponse
			if code := getJSON(t, base+"/api/traces/"+sent.span.TraceID().String(), key, &tr); code != 200 {
				t.Fatalf("GET trace: %d", code)
			}
			var span, log map[string]any
			for _, ev := range tr.Events {
				switch {
				case ev["trace.span_id"] == sent.span.SpanID().String():
					span = ev
				case ev["meta.signal_type"] == "log":
					log = ev
				}
			}
			if span == nil || log == nil || len(tr.Events) != 2 {
				t.Fatalf("trace events %v: want the span and its log", tr.Events)
			}
			if log["meta.annotation_type"] != "span_event" || log["trace.parent_id"] != sent.span.SpanID().String() ||
				log["body.msg"] != "job failed" || log["severity"] != "error" || log["event.name"] != "job.failed" || log["service.name"] != service {
				t.Errorf("log in the trace = %v", log)
			}

			// Metrics: one event per series, in unknown_metrics.
			var datasets []map[string]any
			getJSON(t, base+"/1/datasets", key, &datasets)
			names := map[string]bool{}
			for _, d := range datasets {
				names[fmt.Sprint(d["name"])] = true
			}
			if !names["unknown_metrics"] || !names[service] {
				t.Errorf("datasets %v, want %s and unknown_metrics", names, service)
			}
			m := signalQuery(t, base, key, "unknown_metrics", `{"calculations":[{"op":"SUM","column":"jobs.done"},{"op":"MAX","column":"queue.depth"},{"op":"MAX","column":"job.duration.count"},{"op":"MAX","column":"job.duration.sum"},{"op":"MAX","column":"job.duration.max"},{"op":"COUNT"}],"filters":[{"column":"job.kind","op":"=","value":"email"}],"time_range":3600}`)
			want := map[string]float64{"SUM(jobs.done)": 3, "MAX(queue.depth)": 7, "MAX(job.duration.count)": 4, "MAX(job.duration.sum)": 145, "MAX(job.duration.max)": 90, "COUNT": 1}
			for k, w := range want {
				if got, ok := m[k].(float64); !ok || got != w {
					t.Errorf("%s = %v, want %v (row %v)", k, m[k], w, m)
				}
			}
			metricCols := columnTypes(t, base, key, "unknown_metrics")
			for k, want := range map[string]string{"jobs.done": "integer", "queue.depth": "float", "job.duration.count": "integer", "job.duration.avg": "float",
				"job.duration.p50": "float", "job.duration.p99": "float", "job.kind": "string", "meta.signal_type": "string", "service.name": "string"} {
				if metricCols[k] != want {
					t.Errorf("column %s of unknown_metrics: %q, want %q (all: %v)", k, metricCols[k], want, metricCols)
				}
			}
			if _, ok := metricCols["duration_ms"]; ok {
				t.Error("metric events made a duration_ms column")
			}
		})
	}
}

// TestOTLPSignalsWrongPath: the API door answers an exporter whose base
// endpoint already ends in /v1/logs with how to set it.
func TestOTLPSignalsWrongPath(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	for path, want := range map[string]string{
		"/v1/logs/v1/logs":       "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
		"/v1/metrics/v1/metrics": "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"/otlp/v1/logs":          "the SDK appends /v1/logs itself",
	} {
		req, _ := http.NewRequest("POST", "http://"+a.Addrs().HTTP+path, bytes.NewReader(nil))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Honeycomb-Team", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(body), want) {
			t.Errorf("POST %s: %d %s, want 404 saying %q", path, resp.StatusCode, body, want)
		}
	}
}
