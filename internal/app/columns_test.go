package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	libhoney "github.com/honeycombio/libhoney-go"
	"github.com/honeycombio/libhoney-go/transmission"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// columnsApp starts tracecomb with a small per-dataset column limit.
func columnsApp(t *testing.T, maxColumns int) (base, key string) {
	a, key := columnsAppWith(t, maxColumns, "")
	return "http://" + a.Addrs().HTTP, key
}

func columnsAppWith(t *testing.T, maxColumns int, xrayAddr string) (a *App, key string) {
	t.Helper()
	key = "columns-test-key-0123456789"
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapKey = key
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", xrayAddr, ""
	cfg.MaxDatasetColumns = maxColumns
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	return a, key
}

// TestColumnLimitOverXRay: a segment that would take its dataset past the
// column limit is refused and the others stored. PutTraceSegments (called
// with aws-sdk-go-v2's X-Ray client) names it in UnprocessedTraceSegments;
// the daemon's UDP port drops it and counts it in
// tracecomb_xray_spans_refused_total.
func TestColumnLimitOverXRay(t *testing.T) {
	a, key := columnsAppWith(t, 30, "127.0.0.1:0")
	ctx := context.Background()
	door := a.Addrs().XRay
	c := xraysvc.New(xraysvc.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + door), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
		}),
	})
	now := float64(time.Now().Unix())
	seg := func(n int, wide bool) (traceID, doc string) {
		traceID = fmt.Sprintf("1-%08x-%024x", int64(now), n)
		ann := `"i":1`
		if wide {
			var f []string
			for i := range 50 {
				f = append(f, fmt.Sprintf(`"wide_%02d":%d`, i, i))
			}
			ann = strings.Join(f, ",")
		}
		return traceID, fmt.Sprintf(`{"name":"svc","id":"%016x","trace_id":%q,"start_time":%f,"end_time":%f,"annotations":{%s}}`, n, traceID, now-1, now-0.5, ann)
	}
	stored := func(traceIDs ...string) map[string]bool {
		out, err := c.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: traceIDs})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, tr := range out.Traces {
			got[aws.ToString(tr.Id)] = len(tr.Segments) > 0
		}
		return got
	}

	narrow, narrowDoc := seg(1, false)
	wide, wideDoc := seg(2, true)
	out, err := c.PutTraceSegments(ctx, &xraysvc.PutTraceSegmentsInput{TraceSegmentDocuments: []string{narrowDoc, wideDoc}})
	if err != nil {
		t.Fatalf("PutTraceSegments: %v", err)
	}
	if len(out.UnprocessedTraceSegments) != 1 {
		t.Fatalf("UnprocessedTraceSegments %+v, want the wide segment", out.UnprocessedTraceSegments)
	}
	u := out.UnprocessedTraceSegments[0]
	if aws.ToString(u.Id) != fmt.Sprintf("%016x", 2) || aws.ToString(u.Message) != "Dataset has too many columns." {
		t.Errorf("unprocessed %s %s %q, want the wide segment's id and the column limit", aws.ToString(u.Id), aws.ToString(u.ErrorCode), aws.ToString(u.Message))
	}
	if got := stored(narrow, wide); !got[narrow] || got[wide] {
		t.Errorf("stored %v: want the narrow segment and not the wide one", got)
	}

	// The same over UDP, as an X-Ray SDK sends segments to the daemon.
	conn, err := net.Dial("udp", door)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	narrow2, narrowDoc2 := seg(3, false)
	wide2, wideDoc2 := seg(4, true)
	for _, d := range []string{wideDoc2, narrowDoc2} {
		if _, err := conn.Write([]byte("{\"format\":\"json\",\"version\":1}\n" + d)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !stored(narrow2)[narrow2] {
		if time.Now().After(deadline) {
			t.Fatal("the narrow segment sent over UDP was not stored")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if stored(wide2)[wide2] {
		t.Error("the wide segment sent over UDP was stored past the column limit")
	}
	if n := metricSum(metricsText(t, "http://"+a.Addrs().HTTP, key), "tracecomb_xray_spans_refused_total"); n != 1 {
		t.Errorf("tracecomb_xray_spans_refused_total = %v, want 1", n)
	}
}

// TestColumnLimitOverLibhoney: libhoney-go sends a batch in which one
// event would take its dataset past the column limit; that event gets
// Honeycomb's 400 "Dataset has too many columns." and the others are
// stored.
func TestColumnLimitOverLibhoney(t *testing.T) {
	base, key := columnsApp(t, 30)
	tx := &transmission.Honeycomb{MaxBatchSize: 50, BatchTimeout: time.Hour, MaxConcurrentBatches: 1,
		PendingWorkCapacity: 10, BlockOnSend: true, BlockOnResponse: true}
	client, err := libhoney.NewClient(libhoney.ClientConfig{APIKey: key, Dataset: "wide-events", APIHost: base, Transmission: tx})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range client.TxResponses() {
			mu.Lock()
			got[r.Metadata.(int)] = fmt.Sprintf("%d %s %v", r.StatusCode, r.Body, r.Err)
			mu.Unlock()
		}
	}()
	for i := range 3 {
		ev := client.NewEvent()
		ev.Metadata = i
		ev.AddField("name", "work")
		ev.AddField("i", i)
		if i == 1 {
			for f := range 50 {
				ev.AddField(fmt.Sprintf("wide_%02d", f), f)
			}
		}
		if err := ev.Send(); err != nil {
			t.Fatal(err)
		}
	}
	client.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(got[0], "202") || !strings.HasPrefix(got[2], "202") || !strings.HasPrefix(got[1], "400") || !strings.Contains(got[1], "Dataset has too many columns.") {
		t.Fatalf("responses %v: want 202, 400 too many columns, 202", got)
	}
	if n := eventsQueryCount(t, base, key, "wide-events"); n != 2 {
		t.Fatalf("COUNT = %v, want the 2 narrow events", n)
	}
}

// TestColumnLimitOverOTLP: the OpenTelemetry SDK exports a span that would
// take its dataset past the column limit with one that would not; the
// export succeeds with OTLP partial success naming the refused span (the
// SDK hands it to its error handler) and the narrow span is stored.
func TestColumnLimitOverOTLP(t *testing.T) {
	base, key := columnsApp(t, 40)
	var mu sync.Mutex
	var handled []string
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		handled = append(handled, err.Error())
		mu.Unlock()
	}))
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"), otlptracehttp.WithHeaders(map[string]string{"x-honeycomb-team": key}))
	if err != nil {
		t.Fatal(err)
	}
	// One export of both spans: a batch processor that waits for Shutdown.
	bsp := sdktrace.NewBatchSpanProcessor(exp, sdktrace.WithBatchTimeout(time.Hour), sdktrace.WithMaxExportBatchSize(10))
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bsp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "otel-wide"))))
	tr2 := tp2.Tracer("columns_test")
	_, narrow := tr2.Start(ctx, "narrow")
	narrow.SetAttributes(attribute.Int("i", 1))
	_, wide := tr2.Start(ctx, "wide")
	for f := range 60 {
		wide.SetAttributes(attribute.Int(fmt.Sprintf("wide_%02d", f), f))
	}
	wide.End()
	narrow.End()
	if err := tp2.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v (a partial success is not a failure)", err)
	}
	mu.Lock()
	msgs := strings.Join(handled, " | ")
	mu.Unlock()
	if !strings.Contains(msgs, "1 spans not stored: Dataset has too many columns.") {
		t.Fatalf("the SDK's error handler got %q, want the partial success naming the refused span", msgs)
	}
	var tr2resp traceResponse
	id := narrow.SpanContext().TraceID().String()
	if code := getJSON(t, base+"/api/traces/"+id, key, &tr2resp); code != http.StatusOK || len(tr2resp.Events) != 1 {
		t.Fatalf("the narrow span's trace: %d, %d events, want 1", code, len(tr2resp.Events))
	}
	if code := getJSON(t, base+"/api/traces/"+wide.SpanContext().TraceID().String(), key, nil); code != http.StatusNotFound {
		t.Fatalf("the wide span's trace: %d, want 404 (not stored)", code)
	}
}
