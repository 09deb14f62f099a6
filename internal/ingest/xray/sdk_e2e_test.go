package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	xraysdk "github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/model"
)

// TestXRaySDKEndToEnd runs the real aws-xray-sdk-go against the daemon: an
// HTTP server behind xray.Handler with a subsegment that carries an
// annotation and metadata and calls a second traced server through
// xray.Client. Every segment the SDK emits must arrive as spans with the
// right ids, parents, kinds and fields.
func TestXRaySDKEndToEnd(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{FlushInterval: 5 * time.Millisecond}, s, Settings{})
	// The SDK lets the environment override the configured address.
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", d.Addr().String())

	// Sample everything locally, so the SDK makes no sampling calls.
	all, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"default":{"fixed_target":0,"rate":1.0},"rules":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	xraysdk.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))
	if err := xraysdk.Configure(xraysdk.Config{
		DaemonAddr:       d.Addr().String(),
		SamplingStrategy: all,
		ServiceVersion:   "1.2.3",
	}); err != nil {
		t.Fatal(err)
	}

	downstream := httptest.NewServer(xraysdk.Handler(xraysdk.NewFixedSegmentNamer("e2e-downstream"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })))
	defer downstream.Close()

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := xraysdk.Client(&http.Client{Transport: transport})

	front := httptest.NewServer(xraysdk.Handler(xraysdk.NewFixedSegmentNamer("e2e-front"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/many" {
				// More subsegments than the SDK keeps in one document: it
				// streams completed ones as independent subsegments.
				for i := range manySteps {
					_ = xraysdk.Capture(r.Context(), fmt.Sprintf("step-%02d", i), func(context.Context) error { return nil })
				}
				_, _ = io.WriteString(w, "many")
				return
			}
			if r.URL.Path == "/boom" {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			err := xraysdk.Capture(r.Context(), "work", func(ctx context.Context) error {
				if err := xraysdk.AddAnnotation(ctx, "order_id", "42"); err != nil {
					return err
				}
				if err := xraysdk.AddAnnotation(ctx, "items", 3); err != nil {
					return err
				}
				if err := xraysdk.AddMetadata(ctx, "cart", map[string]any{"sku": "A-1", "qty": 2}); err != nil {
					return err
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, downstream.URL+"/down", nil)
				if err != nil {
					return err
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.Body.Close()
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			_, _ = io.WriteString(w, "hello")
		})))
	defer front.Close()

	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.Transport.(*http.Transport).CloseIdleConnections()
	for _, path := range []string{"/hello", "/boom", "/many"} {
		resp, err := plain.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	// Three segments from the front (/hello with its subsegments, /boom,
	// /many) and one downstream. The Go SDK may emit a segment twice (when
	// the request's context ends while the segment closes); the store keeps
	// one span per id, so the spans are compared by id here.
	byName := func() map[string][]model.Event {
		byID := map[model.SpanID]model.Event{}
		for _, e := range s.events() {
			byID[e.SpanID] = e
		}
		m := map[string][]model.Event{}
		for _, e := range byID {
			m[e.Name] = append(m[e.Name], e)
		}
		return m
	}
	defer func() {
		if t.Failed() {
			t.Logf("received %v datagrams, %d spans", testutil.ToFloat64(d.m.received), len(s.events()))
			for _, e := range s.events() {
				t.Logf("%s %s parent %s", e.Name, e.SpanID, e.ParentID)
			}
		}
	}()
	eventually(t, "the SDK's segments", func() bool {
		m := byName()
		steps := 0
		for i := range manySteps {
			steps += len(m[fmt.Sprintf("step-%02d", i)])
		}
		return len(m["e2e-front"]) == 3 && len(m["e2e-downstream"]) == 1 && steps == manySteps
	})
	m := byName()
	var hello, boom, many model.Event
	for _, e := range m["e2e-front"] {
		switch u, _ := e.Get("http.url"); {
		case strings.HasSuffix(u.Str, "/boom"):
			boom = e
		case strings.HasSuffix(u.Str, "/many"):
			many = e
		default:
			hello = e
		}
	}
	down := m["e2e-downstream"][0]
	if len(m["work"]) != 1 {
		t.Fatalf("%d work subsegments, want 1", len(m["work"]))
	}
	work := m["work"][0]
	downHost := strings.TrimPrefix(downstream.URL, "http://")
	if len(m[downHost]) != 1 {
		var names []string
		for n := range m {
			names = append(names, n)
		}
		t.Fatalf("no remote subsegment named %q among %v", downHost, names)
	}
	remote := m[downHost][0]

	type want struct {
		kind, service string
		parent        model.SpanID
		attrs         map[string]model.Value
	}
	checks := []struct {
		name string
		e    model.Event
		want want
	}{
		{"front segment", hello, want{"server", "e2e-front", model.SpanID{}, map[string]model.Value{
			"http.method": model.Str("GET"), "http.status_code": model.Int(200),
			"telemetry.sdk.name": model.Str("X-Ray for Go"), "telemetry.sdk.language": model.Str("go"),
			"service.version": model.Str("1.2.3"),
		}}},
		{"work subsegment", work, want{"internal", "e2e-front", hello.SpanID, map[string]model.Value{
			"order_id": model.Str("42"), "items": model.Int(3),
			"aws.xray.metadata.default": model.Str(`{"cart":{"qty":2,"sku":"A-1"}}`),
		}}},
		{"remote subsegment", remote, want{"client", "e2e-front", work.SpanID, map[string]model.Value{
			"http.method": model.Str("GET"), "http.status_code": model.Int(200), "aws.xray.namespace": model.Str("remote"),
		}}},
		{"downstream segment", down, want{"server", "e2e-downstream", remote.SpanID, map[string]model.Value{
			"http.status_code": model.Int(200),
		}}},
		{"fault segment", boom, want{"server", "e2e-front", model.SpanID{}, map[string]model.Value{
			"http.status_code": model.Int(500), "aws.xray.fault": model.Bool(true),
		}}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			if e.SpanKind != c.want.kind || e.ServiceName != c.want.service || e.Dataset != c.want.service || e.ParentID != c.want.parent {
				t.Errorf("kind %q service %q dataset %q parent %v; want %q %q %v", e.SpanKind, e.ServiceName, e.Dataset, e.ParentID, c.want.kind, c.want.service, c.want.parent)
			}
			for k, v := range c.want.attrs {
				if got, ok := e.Get(k); !ok || got != v {
					t.Errorf("%s = %v (%v), want %v", k, got, ok, v)
				}
			}
			if e.Source != model.SourceXRay || e.DurationMs <= 0 || e.Time.IsZero() {
				t.Errorf("source %v duration %v time %v", e.Source, e.DurationMs, e.Time)
			}
			var doc map[string]any
			if err := json.Unmarshal(e.Doc, &doc); err != nil || doc["id"] != e.SpanID.String() {
				t.Errorf("Doc %s (%v)", e.Doc, err)
			}
		})
	}
	// One trace across both services; the fault request is another trace.
	for _, e := range []model.Event{work, remote, down} {
		if e.TraceID != hello.TraceID {
			t.Errorf("%s: trace %v, want %v", e.Name, e.TraceID, hello.TraceID)
		}
	}
	if boom.TraceID == hello.TraceID || !boom.Error || boom.StatusCode != 2 {
		t.Errorf("fault segment: trace %v error %v status %d", boom.TraceID, boom.Error, boom.StatusCode)
	}
	if hello.Error {
		t.Error("a 200 segment marked as error")
	}

	// Streamed and embedded subsegments: each step one span, under the
	// segment, in its trace. Streamed ones do not name their service.
	streamed := 0
	for i := range manySteps {
		steps := m[fmt.Sprintf("step-%02d", i)]
		if len(steps) != 1 {
			t.Errorf("step %d arrived as %d spans", i, len(steps))
			continue
		}
		e := steps[0]
		if e.TraceID != many.TraceID || e.ParentID != many.SpanID || e.SpanKind != "internal" {
			t.Errorf("step %d: trace %v parent %v kind %s", i, e.TraceID, e.ParentID, e.SpanKind)
		}
		if v, ok := e.Get("aws.xray.independent_subsegment"); ok && v.AsBool() {
			streamed++
			if e.ServiceName != "" || e.Dataset != "unknown_service" {
				t.Errorf("streamed step %d: service %q dataset %q", i, e.ServiceName, e.Dataset)
			}
		} else if e.ServiceName != "e2e-front" {
			t.Errorf("embedded step %d: service %q", i, e.ServiceName)
		}
	}
	if streamed == 0 || streamed == manySteps {
		t.Errorf("%d of %d steps streamed; the SDK streams past 20 subsegments", streamed, manySteps)
	}
}

const manySteps = 30
