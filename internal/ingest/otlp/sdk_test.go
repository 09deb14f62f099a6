package otlp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/tracecomb/tracecomb/internal/model"
)

// sdkService is the OTEL_SERVICE_NAME of every SDK test: the SDK computes
// its default resource once per process.
const sdkService = "cart-service"

// sentSpans are what emitSpans created, to compare with what was stored.
type sentSpans struct {
	root, child trace.SpanContext
	link        trace.SpanContext
}

// emitSpans sends a server span with a client child (an error with an
// exception event and a link) through exp, configured only by env vars.
func emitSpans(t *testing.T, exp sdktrace.SpanExporter) sentSpans {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tr := tp.Tracer("cart/handlers", trace.WithInstrumentationVersion("1.2.3"))

	var s sentSpans
	_, other := tr.Start(ctx, "other trace")
	s.link = other.SpanContext()
	other.End()

	ctx, root := tr.Start(ctx, "POST /cart", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.method", "POST"), attribute.Int("http.status_code", 500),
			attribute.StringSlice("cart.items", []string{"apple", "pear"}), attribute.Float64("cart.total", 12.5)))
	_, child := tr.Start(ctx, "INSERT cart", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: s.link, Attributes: []attribute.KeyValue{attribute.String("why", "retry of")}}))
	child.RecordError(errTest, trace.WithAttributes(attribute.Bool("db.retry", true)))
	child.SetStatus(otelcodes.Error, "insert failed")
	child.End()
	root.End()
	s.root, s.child = root.SpanContext(), child.SpanContext()

	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		t.Fatalf("tracer provider shutdown (flush): %v", err)
	}
	return s
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("duplicate key")

func checkSDKEvents(t *testing.T, rec *recorder, s sentSpans) {
	t.Helper()
	for _, c := range rec.all() {
		if c.env != testEnv {
			t.Errorf("consumed for env %q, want %q", c.env, testEnv)
		}
	}
	spans := map[string]*model.Event{}
	var spanEvents, links []*model.Event
	events := rec.events()
	for i := range events {
		e := &events[i]
		if e.Dataset != sdkService || e.ServiceName != sdkService || e.Source != model.SourceOTLP {
			t.Errorf("event %q: dataset %q service %q source %v", e.Name, e.Dataset, e.ServiceName, e.Source)
		}
		switch e.AnnotationType {
		case model.AnnotationSpanEvent:
			spanEvents = append(spanEvents, e)
		case model.AnnotationLink:
			links = append(links, e)
		default:
			spans[e.Name] = e
		}
	}
	if len(spans) != 3 || len(spanEvents) != 1 || len(links) != 1 {
		t.Fatalf("got %d spans, %d span events, %d links; want 3, 1, 1", len(spans), len(spanEvents), len(links))
	}
	root, child := spans["POST /cart"], spans["INSERT cart"]
	if root == nil || child == nil {
		t.Fatalf("spans missing: %v", spans)
	}
	if root.TraceID != model.TraceID(s.root.TraceID()) || root.SpanID != model.SpanID(s.root.SpanID()) || !root.ParentID.IsZero() {
		t.Errorf("root ids %s/%s parent %s, want %s/%s", root.TraceID, root.SpanID, root.ParentID, s.root.TraceID(), s.root.SpanID())
	}
	if child.TraceID != root.TraceID || child.ParentID != root.SpanID || child.SpanID != model.SpanID(s.child.SpanID()) {
		t.Errorf("child ids %s/%s parent %s", child.TraceID, child.SpanID, child.ParentID)
	}
	if root.SpanKind != "server" || child.SpanKind != "client" {
		t.Errorf("kinds %q %q", root.SpanKind, child.SpanKind)
	}
	if root.Error || !child.Error || child.StatusCode != 2 {
		t.Errorf("error flags root %v child %v status %d", root.Error, child.Error, child.StatusCode)
	}
	if root.DurationMs < 0 || root.DurationMs < child.DurationMs {
		t.Errorf("durations root %v child %v", root.DurationMs, child.DurationMs)
	}
	want := map[string]string{
		"http.method":            "POST",
		"http.status_code":       "500",
		"cart.items":             "[\"apple\",\"pear\"]\n",
		"cart.total":             "12.5",
		"library.name":           "cart/handlers",
		"library.version":        "1.2.3",
		"telemetry.sdk.language": "go",
		"meta.signal_type":       "trace",
		"span.num_events":        "0",
	}
	for k, w := range want {
		if v, ok := root.Get(k); !ok || v.String() != w {
			t.Errorf("root %s = %q (%v), want %q", k, v.String(), ok, w)
		}
	}
	for k, w := range map[string]string{
		"status_message":    "insert failed",
		"exception.message": "duplicate key",
		"span.num_links":    "1",
	} {
		if v, ok := child.Get(k); !ok || v.String() != w {
			t.Errorf("child %s = %q (%v), want %q", k, v.String(), ok, w)
		}
	}
	se := spanEvents[0]
	if se.Name != "exception" || se.ParentID != child.SpanID || se.TraceID != child.TraceID || !se.Error {
		t.Errorf("span event %q parent %s error %v", se.Name, se.ParentID, se.Error)
	}
	if v, _ := se.Get("db.retry"); !v.AsBool() {
		t.Error("span event attribute db.retry missing")
	}
	l := links[0]
	if v, _ := l.Get("trace.link.trace_id"); v.Str != s.link.TraceID().String() {
		t.Errorf("link trace id %q, want %s", v.Str, s.link.TraceID())
	}
	if v, _ := l.Get("trace.link.span_id"); v.Str != s.link.SpanID().String() {
		t.Errorf("link span id %q, want %s", v.Str, s.link.SpanID())
	}
	if v, _ := l.Get("why"); v.Str != "retry of" || l.ParentID != child.SpanID {
		t.Errorf("link attrs/parent wrong: %q %s", v.Str, l.ParentID)
	}
}

// setSDKEnv configures the exporter the way a Honeycomb user does: three
// environment variables.
func setSDKEnv(t *testing.T, endpoint string) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team="+goodKey)
	t.Setenv("OTEL_SERVICE_NAME", sdkService)
}

func TestSDKExportHTTP(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			rec := &recorder{}
			mux := http.NewServeMux()
			h := NewHTTPHandler(Config{}, newDeps(rec, nil))
			mux.Handle("POST "+PathTraces, h)
			mux.Handle("POST "+PathTracesSlash, h)
			srv := httptest.NewServer(mux)
			defer srv.Close()

			setSDKEnv(t, srv.URL)
			t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
			exp, err := otlptracehttp.New(context.Background())
			mustf(t, err, "exporter")
			checkSDKEvents(t, rec, emitSpans(t, exp))
		})
	}
}

func TestSDKExportGRPC(t *testing.T) {
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			rec := &recorder{}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			mustf(t, err, "listen")
			s := grpc.NewServer(GRPCServerOptions(Config{})...)
			RegisterGRPC(s, Config{}, newDeps(rec, nil))
			done := make(chan struct{})
			go func() { defer close(done); _ = s.Serve(lis) }()
			defer func() { s.Stop(); <-done }()

			setSDKEnv(t, "http://"+lis.Addr().String())
			t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
			exp, err := otlptracegrpc.New(context.Background())
			mustf(t, err, "exporter")
			checkSDKEvents(t, rec, emitSpans(t, exp))
		})
	}
}

// TestSDKExportHTTPWrongKey: the SDK's export fails with the 401 and
// nothing is stored.
func TestSDKExportHTTPWrongKey(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(NewHTTPHandler(Config{}, newDeps(rec, nil)))
	defer srv.Close()
	setSDKEnv(t, srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=wrong")
	exp, err := otlptracehttp.New(context.Background())
	mustf(t, err, "exporter")
	defer func() { _ = exp.Shutdown(context.Background()) }()
	err = exp.ExportSpans(context.Background(), tracetestSpan(t))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("export with a wrong key: %v, want a 401 error", err)
	}
	if len(rec.all()) != 0 {
		t.Error("events stored for a wrong key")
	}
}

// tracetestSpan returns one ended SDK span.
func tracetestSpan(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	var spans []sdktrace.ReadOnlySpan
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(collectProcessor{&spans}))
	_, sp := tp.Tracer("t").Start(context.Background(), "x")
	sp.End()
	_ = tp.Shutdown(context.Background())
	if len(spans) != 1 {
		t.Fatalf("collected %d spans", len(spans))
	}
	return spans
}

type collectProcessor struct{ spans *[]sdktrace.ReadOnlySpan }

func (p collectProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p collectProcessor) OnEnd(s sdktrace.ReadOnlySpan)                   { *p.spans = append(*p.spans, s) }
func (p collectProcessor) Shutdown(context.Context) error                  { return nil }
func (p collectProcessor) ForceFlush(context.Context) error                { return nil }
