package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"

	"github.com/tracecomb/tracecomb/internal/model"
)

// forwardAWSEnv makes the AWS SDK's default chain find creds, and
// nothing else (no shared files, no instance metadata).
func forwardAWSEnv(t *testing.T, creds aws.Credentials) {
	t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// postEvents posts a /1/batch body and returns the status and body.
func postEvents(t *testing.T, base, key, dataset, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/1/batch/"+dataset, strings.NewReader(body))
	req.Header.Set("X-Honeycomb-Team", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// withoutMeta drops the fields a tracecomb adds to the events it shows
// (door, source), which say how each server got them.
func withoutMeta(evs []map[string]any) []string {
	var out []string
	for _, ev := range evs {
		var fields []string
		for k, v := range ev {
			if strings.HasPrefix(k, "meta.tracecomb.") {
				continue
			}
			fields = append(fields, fmt.Sprintf("%s=%v", k, v))
		}
		slices.Sort(fields)
		out = append(out, strings.Join(fields, " "))
	}
	slices.Sort(out)
	return out
}

func waitTrace(t *testing.T, base, key string, id model.TraceID, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := joinedTrace(t, base, key, id, "")
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s on the target: %v, want %v", id, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestForwardToARealTracecomb forwards to a second tracecomb, a real
// server that checks what Honeycomb and X-Ray check: its Events API checks
// the key, the batch and event sizes and the payload; its X-Ray API door
// verifies SigV4 with a key pair of its own (as `tracecomb keys create
// --aws` makes) and checks each document. What came in by Honeycomb's
// doors arrives by the target's Honeycomb door with every field it had;
// what came in by X-Ray's doors arrives by its X-Ray door; neither
// reaches the other's.
func TestForwardToARealTracecomb(t *testing.T) {
	target, targetKey := testApp(t, t.TempDir())
	targetBase := "http://" + target.Addrs().HTTP
	forwardAWSEnv(t, awsPair(t, target, "test"))
	a, key := testAppWith(t, t.TempDir(), func(c *Config) {
		c.ForwardHoneycomb = targetBase
		c.ForwardKey = targetKey
		c.ForwardXRay = "us-east-1"
		c.ForwardXRayEndpoint = targetBase
		c.MetricsPublic = true
	})
	base := "http://" + a.Addrs().HTTP

	// Honeycomb's doors: OTLP with a key, and the Events API.
	sc := sendWithSDK(t, "http/protobuf", base, key, "fwd-otel")
	otelID := model.TraceID(sc.TraceID())
	evID := model.TraceID{0xee, 1}
	code, body := postEvents(t, base, key, "fwd-events", fmt.Sprintf(`[
		{"time":"2026-12-07T10:00:00.5Z","samplerate":4,"data":{"trace.trace_id":"%s","trace.span_id":"aa00000000000001","name":"job","service.name":"fwd-events","duration_ms":12.5,"nested":{"a":1},"flag":true}},
		{"data":{"trace.trace_id":"%s","trace.span_id":"aa00000000000002","trace.parent_id":"aa00000000000001","name":"step","service.name":"fwd-events","count":7}}]`, evID, evID))
	if code != 200 {
		t.Fatalf("events batch: %d %s", code, body)
	}

	// X-Ray's doors: a daemon segment with an embedded subsegment, and
	// OTLP signed for X-Ray's OTLP endpoint.
	now := time.Now()
	xrayTrace := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xf0a1)
	epoch := float64(now.UnixNano()) / 1e9
	sendSegment(t, a.Addrs().XRay, map[string]any{
		"name": "fwd-xray", "id": "70de5b6f19ff0a0a", "trace_id": xrayTrace, "start_time": epoch - 0.2, "end_time": epoch,
		"annotations": map[string]any{"user": "ann"},
		"subsegments": []any{map[string]any{"name": "api.example.com", "id": "70de5b6f19ff0a0b", "namespace": "remote", "start_time": epoch - 0.15, "end_time": epoch - 0.05}},
	})
	xrayID, _ := model.ParseXRayTraceID(xrayTrace)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "") // sendWithSDK's Honeycomb key would pick Honeycomb's door
	spans, ssc := recordSpans(t, "fwd-signed")
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: sigV4Signer{creds: awsPair(t, a, "test"), service: "xray", region: "us-east-1"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	exp.Shutdown(ctx)
	signedID := model.TraceID(ssc.TraceID())

	waitTrace(t, targetBase, targetKey, otelID, map[string]int{"honeycomb/events": 4})
	waitTrace(t, targetBase, targetKey, evID, map[string]int{"honeycomb/events": 2})
	waitTrace(t, targetBase, targetKey, xrayID, map[string]int{"xray/xray": 2})
	if marks := joinedTrace(t, base, key, signedID, ""); marks["xray/otlp"] != 2 {
		t.Fatalf("the signed trace on the forwarding server: %v", marks)
	}
	waitTrace(t, targetBase, targetKey, signedID, map[string]int{"xray/xray": 2})

	// Every field as the forwarding tracecomb stored it.
	for _, id := range []model.TraceID{otelID, evID} {
		var here, there traceResponse
		getJSON(t, base+"/api/traces/"+id.String(), key, &here)
		getJSON(t, targetBase+"/api/traces/"+id.String(), targetKey, &there)
		if h, th := withoutMeta(here.Events), withoutMeta(there.Events); !slices.Equal(h, th) {
			t.Errorf("trace %s differs:\nhere  %v\nthere %v", id, h, th)
		}
	}
	// The X-Ray segment's documents, through the target's X-Ray API.
	creds := awsPair(t, target, "test")
	client := xraysvc.New(xraysvc.Options{Region: "us-east-1", BaseEndpoint: aws.String(targetBase), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })})
	got, err := client.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: []string{xrayTrace}})
	if err != nil || len(got.Traces) != 1 {
		t.Fatalf("BatchGetTraces on the target: %v %+v", err, got)
	}
	var docs []string
	for _, s := range got.Traces[0].Segments {
		docs = append(docs, aws.ToString(s.Document))
	}
	all := strings.Join(docs, "\n")
	if !strings.Contains(all, `"fwd-xray"`) || !strings.Contains(all, `"api.example.com"`) || !strings.Contains(all, `"user":"ann"`) {
		t.Errorf("the target's documents %s lack the segment, its subsegment or its annotation", all)
	}

	// The metrics of the forwarding server.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`tracecomb_forward_sent_events_total{target="honeycomb"} 6`, `tracecomb_forward_sent_events_total{target="xray"} 3`,
		`tracecomb_forward_queued_bytes{target="honeycomb"} 0`, `tracecomb_forward_dropped_events_total{reason="rejected",target="xray"} 0`} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestForwardFlags(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.ForwardHoneycomb = "https://api.honeycomb.io" }, "--forward-key"},
		{func(c *Config) { c.ForwardHoneycomb, c.ForwardKey = "api.honeycomb.io", "k" }, "--forward-honeycomb"},
		{func(c *Config) { c.ForwardXRayEndpoint = "http://localhost:2000" }, "needs --forward-xray"},
		{func(c *Config) { c.ForwardXRay, c.ForwardQueueMaxBytes = "us-east-1", 1000 }, "--forward-queue-max-bytes"},
	} {
		c := DefaultConfig()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate: %v; want an error naming %s", err, tc.want)
		}
	}
	c := DefaultConfig()
	c.ForwardHoneycomb, c.ForwardKey, c.ForwardXRay, c.ForwardXRayEndpoint = "https://api.honeycomb.io", "k", "eu-west-1", "https://vpce.example"
	if err := c.Validate(); err != nil {
		t.Errorf("a valid forwarding config: %v", err)
	}
}

// TestForwardFailedStartDoesNotWait: a start that cannot bind a door
// closes the forward queue at once, even with a target that is down and
// events queued, instead of spending the shutdown budget on retries.
func TestForwardFailedStartDoesNotWait(t *testing.T) {
	down := freeAddr(t)
	dir := t.TempDir()
	a, key := testAppWith(t, dir, func(c *Config) {
		c.ForwardHoneycomb, c.ForwardKey = "http://"+down, "k"
	})
	if code, body := postEvents(t, "http://"+a.Addrs().HTTP, key, "d", `[{"data":{"a":1}}]`); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.ForwardHoneycomb, cfg.ForwardKey = dir, "http://"+down, "k"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", taken.Addr().String(), "127.0.0.1:0", "127.0.0.1:0"
	b, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil {
		t.Fatal("started on a taken port")
	}
	done := make(chan error, 1)
	go func() { done <- b.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a failed start waited on the forward target")
	}
	if f, _ := filepath.Glob(filepath.Join(dir, ForwardDirName, "honeycomb", "*.seg")); len(f) == 0 {
		t.Fatal("the queue is gone")
	}
}

// BenchmarkForwardIngestPath is BenchmarkIngestPath's workload (4
// senders of 1,000-span OTLP requests) without and with forwarding to
// Honeycomb, to a server that takes everything: the cost of queueing
// each request's events on disk (encoding, one write, a shared fsync)
// after the store's commit.
func BenchmarkForwardIngestPath(b *testing.B) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck
	}))
	defer target.Close()
	b.Run("off", func(b *testing.B) { benchIngest(b, nil) })
	b.Run("on", func(b *testing.B) {
		benchIngest(b, func(cfg *Config) { cfg.ForwardHoneycomb, cfg.ForwardKey = target.URL, "k" })
	})
}
