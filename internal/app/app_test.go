package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// testApp starts tracecomb in-process on free loopback ports with a fixed
// bootstrap key.
func testApp(t *testing.T, dataDir string) (*App, string) {
	t.Helper()
	return testAppWith(t, dataDir, nil)
}

// testAppWith is testApp with the configuration changed by set.
func testAppWith(t *testing.T, dataDir string, set func(*Config)) (*App, string) {
	t.Helper()
	const key = "test-bootstrap-key-0123456789"
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.BootstrapKey = key
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.OTLPGRPCAddr = "127.0.0.1:0"
	cfg.XRayAddr = "127.0.0.1:0"
	cfg.UIAddr = "127.0.0.1:0"
	if set != nil {
		set(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(&testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := New(context.Background(), cfg, logger, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a, key
}

type testLogWriter struct{ t *testing.T }

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// sendWithSDK sends one trace (a server span with a client child and an
// error grandchild carrying a span event) through the official OTel SDK,
// configured only by the three environment variables the lesson sets
// (t.Setenv: not in a parallel test).
func sendWithSDK(t *testing.T, protocol, endpoint, key, service string) trace.SpanContext {
	t.Helper()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team="+key)
	t.Setenv("OTEL_SERVICE_NAME", service)
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	// resource.Default() is computed once per process; build the resource
	// from the environment each time, as a fresh process would.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		t.Fatal(err)
	}
	return sendSDKTrace(t, protocol, exp, res)
}

// sendWithSDKOptions sends sendWithSDK's trace with the endpoint, the key
// and the service name given to the SDK as options instead of environment
// variables, so that parallel tests can send (t.Setenv cannot run in
// them). For tests about something else than how the SDK is configured
// (TestOTelSDKEndToEnd covers the lesson's variables).
func sendWithSDKOptions(t *testing.T, protocol, endpoint, key, service string) trace.SpanContext {
	t.Helper()
	ctx := context.Background()
	headers := map[string]string{"x-honeycomb-team": key}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint+"/v1/traces"), otlptracehttp.WithHeaders(headers))
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint), otlptracegrpc.WithHeaders(headers))
	}
	if err != nil {
		t.Fatal(err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", service)), resource.WithTelemetrySDK())
	if err != nil {
		t.Fatal(err)
	}
	return sendSDKTrace(t, protocol, exp, res)
}

// sendSDKTrace sends sendWithSDK's trace through exp with the resource res.
func sendSDKTrace(t *testing.T, protocol string, exp sdktrace.SpanExporter, res *resource.Resource) trace.SpanContext {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("tracecomb/app_test")
	ctx, root := tr.Start(ctx, "GET /api/activities/home", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/api/activities/home"), attribute.Int("http.status_code", 200)))
	cctx, child := tr.Start(ctx, "HTTP GET", trace.WithSpanKind(trace.SpanKindClient))
	_, gc := tr.Start(cctx, "db.query", trace.WithAttributes(attribute.Bool("app.cached", false), attribute.Float64("app.ratio", 0.25)))
	gc.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	gc.SetStatus(codes.Error, "boom")
	gc.End()
	child.End()
	root.End()
	if err := tp.Shutdown(ctx); err != nil { // flushes; fails if the export failed
		t.Fatalf("export over %s: %v", protocol, err)
	}
	return root.SpanContext()
}

func getJSON(t *testing.T, url, key string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	if out != nil && resp.StatusCode != 200 {
		json.Unmarshal(body, out) //nolint:errcheck // error bodies are checked by callers
	}
	return resp.StatusCode
}

type traceResponse struct {
	TraceID string           `json:"trace_id"`
	Events  []map[string]any `json:"events"`
}

func TestOTelSDKEndToEnd(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			a, key := testApp(t, t.TempDir())
			endpoint := "http://" + a.Addrs().HTTP
			if protocol == "grpc" {
				endpoint = "http://" + a.Addrs().OTLPGRPC
			}
			sc := sendWithSDK(t, protocol, endpoint, key, "backend-flask")
			base := "http://" + a.Addrs().HTTP

			var tr traceResponse
			if code := getJSON(t, base+"/api/traces/"+sc.TraceID().String(), key, &tr); code != 200 {
				t.Fatalf("GET trace: %d", code)
			}
			if tr.TraceID != sc.TraceID().String() {
				t.Fatalf("trace_id %q", tr.TraceID)
			}
			byName := map[string]map[string]any{}
			for _, ev := range tr.Events {
				byName[fmt.Sprint(ev["name"])] = ev
			}
			if len(tr.Events) != 4 {
				t.Fatalf("%d events, want 3 spans + 1 span event: %v", len(tr.Events), tr.Events)
			}
			root, child, gc, event := byName["GET /api/activities/home"], byName["HTTP GET"], byName["db.query"], byName["retry"]
			if root == nil || child == nil || gc == nil || event == nil {
				t.Fatalf("missing events: %v", byName)
			}
			for _, ev := range tr.Events {
				if ev["service.name"] != "backend-flask" || ev["trace.trace_id"] != sc.TraceID().String() {
					t.Errorf("event %v: wrong service or trace id", ev["name"])
				}
			}
			if _, ok := root["trace.parent_id"]; ok {
				t.Error("root span has trace.parent_id")
			}
			if root["trace.span_id"] != sc.SpanID().String() || root["span.kind"] != "server" || root["http.route"] != "/api/activities/home" || root["http.status_code"] != 200.0 {
				t.Errorf("root = %v", root)
			}
			if child["trace.parent_id"] != root["trace.span_id"] || child["span.kind"] != "client" {
				t.Errorf("child = %v", child)
			}
			if gc["trace.parent_id"] != child["trace.span_id"] || gc["error"] != true || gc["status_code"] != 2.0 || gc["app.cached"] != false || gc["app.ratio"] != 0.25 || gc["library.name"] != "tracecomb/app_test" {
				t.Errorf("grandchild = %v", gc)
			}
			if d, ok := gc["duration_ms"].(float64); !ok || d < 0 {
				t.Errorf("duration_ms = %v", gc["duration_ms"])
			}
			if event["meta.annotation_type"] != "span_event" || event["trace.parent_id"] != gc["trace.span_id"] || event["attempt"] != 2.0 {
				t.Errorf("span event = %v", event)
			}

			var datasets []map[string]any
			if code := getJSON(t, base+"/1/datasets", key, &datasets); code != 200 || len(datasets) != 1 || datasets[0]["name"] != "backend-flask" || datasets[0]["slug"] != "backend-flask" {
				t.Fatalf("datasets %d %v", code, datasets)
			}
			var ds map[string]any
			if code := getJSON(t, base+"/1/datasets/backend-flask", key, &ds); code != 200 || ds["last_written_at"] == nil {
				t.Fatalf("dataset %d %v", code, ds)
			}
			var cols []map[string]any
			if code := getJSON(t, base+"/1/columns/backend-flask", key, &cols); code != 200 {
				t.Fatalf("columns %d", code)
			}
			types := map[string]string{}
			for _, c := range cols {
				types[fmt.Sprint(c["key_name"])] = fmt.Sprint(c["type"])
			}
			for k, want := range map[string]string{"duration_ms": "float", "http.route": "string", "http.status_code": "integer", "app.cached": "boolean", "app.ratio": "float"} {
				if types[k] != want {
					t.Errorf("column %s type %q, want %q (all: %v)", k, types[k], want, types)
				}
			}
			var one map[string]any
			if code := getJSON(t, base+"/1/columns/backend-flask?key_name=http.route", key, &one); code != 200 || one["key_name"] != "http.route" {
				t.Errorf("column by key_name: %d %v", code, one)
			}
			var authResp map[string]any
			if code := getJSON(t, base+"/1/auth", key, &authResp); code != 200 {
				t.Fatalf("auth %d", code)
			}
			if env := authResp["environment"].(map[string]any); env["slug"] != "test" {
				t.Errorf("/1/auth environment %v", env)
			}
		})
	}
}

func TestAuthFailuresStoreNothing(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	cases := []struct{ key, msg string }{
		{"", "missing 'x-honeycomb-team' header"},
		{"not-a-key", "unknown API key - check your credentials, region, and API URL"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", base+"/v1/traces", strings.NewReader(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"sneaky"}}]},"scopeSpans":[{"spans":[{"traceId":"5759e988bd862e3fe1be46a994272793","spanId":"53995c3f42cd8ad8","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`))
		req.Header.Set("Content-Type", "application/json")
		if c.key != "" {
			req.Header.Set("x-honeycomb-team", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !bytes.Contains(body, []byte(c.msg)) {
			t.Errorf("key %q: %d %s, want 401 with %q", c.key, resp.StatusCode, body, c.msg)
		}
		var e map[string]string
		if code := getJSON(t, base+"/1/datasets", c.key, &e); code != 401 || e["error"] != c.msg {
			t.Errorf("read API with key %q: %d %v", c.key, code, e)
		}
	}
	// The SDK with a wrong key gets an error and nothing is stored.
	t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "2000")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=wrong")
	exp, _ := otlptracehttp.New(context.Background())
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	_, span := tp.Tracer("t").Start(context.Background(), "x")
	span.End()
	tp.Shutdown(context.Background()) //nolint:errcheck // the error goes to the global handler
	var datasets []any
	if code := getJSON(t, base+"/1/datasets", key, &datasets); code != 200 || len(datasets) != 0 {
		t.Fatalf("after rejected requests: %d datasets %v", code, datasets)
	}
}

func TestEnvironmentsNeverSeeEachOther(t *testing.T) {
	a, keyTest := testApp(t, t.TempDir())
	// A configuration key with every permission sends and reads.
	_, keyProd, err := a.Registry().CreateKey(auth.KeySpec{Env: "production", Kind: auth.KindConfiguration})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.Addrs().HTTP
	scTest := sendWithSDK(t, "http/protobuf", base, keyTest, "svc-test")
	scProd := sendWithSDK(t, "http/protobuf", base, keyProd, "svc-prod")

	for _, c := range []struct {
		key, own, other, ds string
	}{
		{keyTest, scTest.TraceID().String(), scProd.TraceID().String(), "svc-test"},
		{keyProd, scProd.TraceID().String(), scTest.TraceID().String(), "svc-prod"},
	} {
		var tr traceResponse
		if code := getJSON(t, base+"/api/traces/"+c.own, c.key, &tr); code != 200 || len(tr.Events) != 4 {
			t.Errorf("own trace: %d, %d events", code, len(tr.Events))
		}
		if code := getJSON(t, base+"/api/traces/"+c.other, c.key, &tr); code != 404 {
			t.Errorf("other environment's trace: %d, want 404", code)
		}
		var ds []map[string]any
		getJSON(t, base+"/1/datasets", c.key, &ds)
		if len(ds) != 1 || ds[0]["name"] != c.ds {
			t.Errorf("datasets %v, want only %s", ds, c.ds)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	sendWithSDK(t, "http/protobuf", "http://"+a.Addrs().HTTP, key, "m")
	// Without a key /metrics is refused (--metrics-public opens it).
	if code := getJSON(t, "http://"+a.Addrs().HTTP+"/metrics", "", nil); code != 401 {
		t.Errorf("/metrics without a key: %d, want 401", code)
	}
	page := metricsText(t, "http://"+a.Addrs().HTTP, key)
	for _, want := range []string{"tracecomb_events_stored_total 4", "tracecomb_store_commit_seconds_bucket"} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// apiCaller returns a function that sends body as JSON to the server at
// base with key in the Honeycomb key header and returns the status, the
// answer decoded as an object, and the answer as it came.
func apiCaller(t *testing.T, base, key string) func(method, path string, body any) (int, map[string]any, string) {
	return func(method, path string, body any) (int, map[string]any, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("X-Honeycomb-Team", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m, string(raw)
	}
}
