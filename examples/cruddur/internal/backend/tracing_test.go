package backend

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/xraylog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// waitBound is how long a test waits for spans and segments that are
// recorded after the response went out; it bounds a wait, it is not a
// timing assertion.
const waitBound = 10 * time.Second

// udpDaemon is a UDP socket standing where the X-Ray daemon would: it
// checks each datagram's header line and keeps the segment documents.
type udpDaemon struct {
	addr string
	conn net.PacketConn
	mu   sync.Mutex
	docs []map[string]any
	bad  []string
	done chan struct{}
}

func newUDPDaemon(t testing.TB) *udpDaemon {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &udpDaemon{addr: conn.LocalAddr().String(), conn: conn, done: make(chan struct{})}
	go d.read()
	t.Cleanup(func() {
		conn.Close()
		<-d.done
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, b := range d.bad {
			t.Errorf("bad datagram: %s", b)
		}
	})
	return d
}

func (d *udpDaemon) read() {
	defer close(d.done)
	buf := make([]byte, 64<<10)
	for {
		n, _, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		hdr, body, ok := bytes.Cut(buf[:n], []byte("\n"))
		var doc map[string]any
		d.mu.Lock()
		switch {
		case !ok || string(hdr) != `{"format": "json", "version": 1}`:
			d.bad = append(d.bad, "header: "+string(buf[:n]))
		case json.Unmarshal(body, &doc) != nil:
			d.bad = append(d.bad, "body: "+string(body))
		default:
			d.docs = append(d.docs, doc)
		}
		d.mu.Unlock()
	}
}

// wait returns the first segment document that match accepts.
func (d *udpDaemon) wait(t testing.TB, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, doc := range d.docs {
			if match(doc) {
				d.mu.Unlock()
				return doc
			}
		}
		d.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t.Fatalf("no segment %s among %d received: %v", what, len(d.docs), d.docs)
	return nil
}

func waitSpan(t testing.TB, rec *tracetest.SpanRecorder, what string, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		for _, s := range rec.Ended() {
			if match(s) {
				return s
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	t.Fatalf("no span %s among %q", what, names)
	return nil
}

func named(name string) func(sdktrace.ReadOnlySpan) bool {
	return func(s sdktrace.ReadOnlySpan) bool { return s.Name() == name }
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func xrayTraceID(tid trace.TraceID) string {
	h := hex.EncodeToString(tid[:])
	return "1-" + h[:8] + "-" + h[8:]
}

func str(v any) string { s, _ := v.(string); return s }

// path reads a nested value of a segment document.
func path(doc map[string]any, keys ...string) any {
	var v any = doc
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestHomeActivitiesTracing(t *testing.T) {
	t.Parallel()
	// The opt-in shared trace id (not the lesson's), so that the X-Ray
	// segment can be checked to hang under the OTel server span.
	e := newTestEnv(t, Config{ShareTraceID: true})
	if r := e.do(t, "GET", "/api/activities/home", "", "", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}

	server := waitSpan(t, e.spans, "GET /api/activities/home", named("GET /api/activities/home"))
	a := attrs(server)
	if server.SpanKind() != trace.SpanKindServer {
		t.Errorf("server span kind %v", server.SpanKind())
	}
	if got := a["http.route"].AsString(); got != "/api/activities/home" {
		t.Errorf("http.route %q", got)
	}
	if got := a["http.response.status_code"].AsInt64(); got != 200 {
		t.Errorf("http.response.status_code %d", got)
	}
	if got := a["http.request.method"].AsString(); got != "GET" {
		t.Errorf("http.request.method %q", got)
	}

	custom := waitSpan(t, e.spans, "home-activities-mock-data", named("home-activities-mock-data"))
	if custom.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("custom span is not a child of the server span")
	}
	ca := attrs(custom)
	if got := ca["app.now"].AsString(); got != "2023-02-20T10:11:12.123456+00:00" {
		t.Errorf("app.now %q", got)
	}
	if got := ca["app.result_length"]; got.Type() != attribute.INT64 || got.AsInt64() != 3 {
		t.Errorf("app.result_length %v", got.String())
	}

	client := waitSpan(t, e.spans, "client", func(s sdktrace.ReadOnlySpan) bool { return s.SpanKind() == trace.SpanKindClient })
	if client.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("client span is not a child of the home server span")
	}
	if got := attrs(client)["url.full"].AsString(); got != e.srv.upstream {
		t.Errorf("client url.full %q, want %q", got, e.srv.upstream)
	}
	health := waitSpan(t, e.spans, "GET /api/health", named("GET /api/health"))
	if health.Parent().SpanID() != client.SpanContext().SpanID() || health.SpanContext().TraceID() != server.SpanContext().TraceID() {
		t.Error("the upstream's server span is not a child of the client span")
	}

	// X-Ray: with ShareTraceID the segment shares the OTel trace id and
	// hangs under the OTel server span; the outgoing call is a remote
	// subsegment.
	tid := xrayTraceID(server.SpanContext().TraceID())
	seg := e.daemon.wait(t, "for home", func(d map[string]any) bool {
		return strings.HasSuffix(str(path(d, "http", "request", "url")), "/api/activities/home")
	})
	if seg["name"] != XRayServiceName {
		t.Errorf("segment name %v", seg["name"])
	}
	if seg["trace_id"] != tid {
		t.Errorf("segment trace_id %v, want %s", seg["trace_id"], tid)
	}
	if sid := server.SpanContext().SpanID(); seg["parent_id"] != hex.EncodeToString(sid[:]) {
		t.Errorf("segment parent_id %v, want the OTel server span %s", seg["parent_id"], sid)
	}
	if got := path(seg, "http", "response", "status"); got != float64(200) {
		t.Errorf("segment response status %v", got)
	}
	subs, _ := seg["subsegments"].([]any)
	var remote map[string]any
	for _, s := range subs {
		if m, _ := s.(map[string]any); m["namespace"] == "remote" {
			remote = m
		}
	}
	if remote == nil {
		t.Fatalf("no remote subsegment in %v", seg)
	}
	if !strings.HasPrefix(str(remote["name"]), "127.0.0.1:") || str(path(remote, "http", "request", "url")) != e.srv.upstream {
		t.Errorf("remote subsegment %v", remote)
	}
	hseg := e.daemon.wait(t, "for health", func(d map[string]any) bool {
		return strings.HasSuffix(str(path(d, "http", "request", "url")), "/api/health")
	})
	if hseg["trace_id"] != tid || hseg["parent_id"] != remote["id"] {
		t.Errorf("health segment trace %v parent %v, want %s under %v", hseg["trace_id"], hseg["parent_id"], tid, remote["id"])
	}
}

// TestTraceIDsOfTheirOwn checks the lesson's default: the two SDKs trace
// a request independently, each under a trace id of its own, the X-Ray
// segment a root with no parent, named after the lesson's fixed service
// whatever the OTel service is called.
func TestTraceIDsOfTheirOwn(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{OTelServiceName: "cruddur-otel"})
	const n = 5
	for range n {
		if r := e.do(t, "GET", "/api/message_groups", "", "", nil); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	otelIDs := map[string]bool{}
	deadline := time.Now().Add(waitBound)
	for len(otelIDs) < n && time.Now().Before(deadline) {
		for _, s := range e.spans.Ended() {
			if s.Name() == "GET /api/message_groups" {
				otelIDs[xrayTraceID(s.SpanContext().TraceID())] = true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(otelIDs) != n {
		t.Fatalf("%d OTel server spans, want %d", len(otelIDs), n)
	}
	xrayIDs := map[string]bool{}
	for i := range n {
		seg := e.daemon.wait(t, fmt.Sprint("number ", i+1), func(d map[string]any) bool {
			return strings.HasSuffix(str(path(d, "http", "request", "url")), "/api/message_groups") && !xrayIDs[str(d["trace_id"])]
		})
		id := str(seg["trace_id"])
		xrayIDs[id] = true
		if id == "" || otelIDs[id] {
			t.Errorf("segment trace_id %q, want one of its own (OTel ids %v)", id, otelIDs)
		}
		if p, ok := seg["parent_id"]; ok {
			t.Errorf("segment %s: parent_id %v, want a root segment", id, p)
		}
		if seg["name"] != XRayServiceName {
			t.Errorf("segment %s: name %v, want %s", id, seg["name"], XRayServiceName)
		}
	}
}

func TestUserActivitiesSubsegment(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	if r := e.do(t, "GET", "/api/activities/@andrewbrown", "", "", nil); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	server := waitSpan(t, e.spans, "user activities", named("GET /api/activities/{handle}"))
	if got := attrs(server)["http.route"].AsString(); got != "/api/activities/{handle}" {
		t.Errorf("http.route %q", got)
	}
	seg := e.daemon.wait(t, "for @andrewbrown", func(d map[string]any) bool {
		return strings.HasSuffix(str(path(d, "http", "request", "url")), "/api/activities/@andrewbrown")
	})
	subs, _ := seg["subsegments"].([]any)
	if len(subs) != 1 {
		t.Fatalf("want one subsegment, got %v", seg["subsegments"])
	}
	sub := subs[0].(map[string]any)
	if sub["name"] != "mock-data" {
		t.Errorf("subsegment name %v", sub["name"])
	}
	if got := path(sub, "annotations", "user_handle"); got != "andrewbrown" {
		t.Errorf("annotation user_handle %v", got)
	}
	if got := path(sub, "annotations", "result_length"); got != float64(1) {
		t.Errorf("annotation result_length %v", got)
	}
	if got := path(sub, "metadata", "cruddur", "mock-data", "results-size"); got != float64(1) {
		t.Errorf("metadata results-size %v in %v", got, sub["metadata"])
	}
	if got := path(sub, "metadata", "cruddur", "mock-data", "now"); got != "2023-02-20T10:11:12.123456+00:00" {
		t.Errorf("metadata now %v", got)
	}
}

func TestErrorStatusOnBothSides(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	if r := e.do(t, "GET", "/api/activities/@nobody", "", "", nil); r.status != 404 {
		t.Fatalf("status %d", r.status)
	}
	server := waitSpan(t, e.spans, "404", named("GET /api/activities/{handle}"))
	if got := attrs(server)["http.response.status_code"].AsInt64(); got != 404 {
		t.Errorf("status code attribute %d", got)
	}
	if server.Status().Code == codes.Error {
		t.Error("a 4xx must not set an error status on a server span")
	}
	seg := e.daemon.wait(t, "for @nobody", func(d map[string]any) bool {
		return strings.HasSuffix(str(path(d, "http", "request", "url")), "/@nobody")
	})
	if seg["error"] != true || seg["fault"] == true {
		t.Errorf("segment error %v fault %v, want error only", seg["error"], seg["fault"])
	}
}

func TestSegmentNaming(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{XRayServiceName: "cruddur-api", XRayURL: "*.example.com"})
	tests := []struct{ host, want string }{
		{"api.example.com", "api.example.com"},
		{"API.EXAMPLE.COM", "API.EXAMPLE.COM"},
		{"localhost", "cruddur-api"},
	}
	for _, tt := range tests {
		r := e.do(t, "GET", "/api/message_groups?h="+tt.host, "", "", map[string]string{"Host": tt.host})
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		seg := e.daemon.wait(t, "for "+tt.host, func(d map[string]any) bool {
			return strings.HasSuffix(str(path(d, "http", "request", "url")), "h="+tt.host) ||
				path(d, "http", "request", "url") == "http://"+tt.host+"/api/message_groups"
		})
		if seg["name"] != tt.want {
			t.Errorf("host %s: segment name %v, want %s", tt.host, seg["name"], tt.want)
		}
	}
}

func TestIncomingHeadersWin(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	const amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := e.do(t, "GET", "/api/message_groups", "", "", map[string]string{"X-Amzn-Trace-Id": amzn, "traceparent": tp})
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	server := waitSpan(t, e.spans, "message groups", named("GET /api/message_groups"))
	if got := server.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("OTel trace %s, want the traceparent's", got)
	}
	seg := e.daemon.wait(t, "for message groups", func(d map[string]any) bool { return d["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793" })
	if seg["parent_id"] != "53995c3f42cd8ad8" {
		t.Errorf("parent_id %v", seg["parent_id"])
	}
}

func TestXRayHeader(t *testing.T) {
	now := time.Unix(0x5759e988, 0)
	tid := func(s string) trace.TraceID { id, _ := trace.TraceIDFromHex(s); return id }
	sid, _ := trace.SpanIDFromHex("53995c3f42cd8ad8")
	tests := []struct {
		name   string
		sc     trace.SpanContext
		want   string
		wantOK bool
	}{
		{"same second", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid("5759e988bd862e3fe1be46a994272793"), SpanID: sid}),
			"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", true},
		{"29 days old", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid("575266880000000000000000000000aa"), SpanID: sid}),
			"Root=1-57526688-0000000000000000000000aa;Parent=53995c3f42cd8ad8", true},
		{"random id", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid("4bf92f3577b34da6a3ce929d0e0e4736"), SpanID: sid}), "", false},
		{"future id", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid("f759e988bd862e3fe1be46a994272793"), SpanID: sid}), "", false},
		{"invalid", trace.SpanContext{}, "", false},
	}
	for _, tt := range tests {
		got, ok := XRayHeader(tt.sc, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: got %q %v, want %q %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestXRayIDGenerator(t *testing.T) {
	now := time.Unix(0x5759e988, 0)
	g := &XRayIDGenerator{now: func() time.Time { return now }}
	seen := map[trace.TraceID]bool{}
	for range 1000 {
		tid, sid := g.NewIDs(context.Background())
		if !tid.IsValid() || !sid.IsValid() {
			t.Fatal("invalid id")
		}
		if got := tid.String()[:8]; got != "5759e988" {
			t.Fatalf("trace id %s does not start with the time", tid)
		}
		if seen[tid] {
			t.Fatalf("duplicate trace id %s", tid)
		}
		seen[tid] = true
	}
}

func TestResourceFromEnv(t *testing.T) {
	tests := []struct {
		name, svcEnv, attrsEnv, want string
	}{
		// Unset, the SDK's own default, as the lesson's Python SDK has one
		// (unknown_service there).
		{"default", "", "", "unknown_service:"},
		{"OTEL_SERVICE_NAME", "cruddur", "", "cruddur"},
		{"OTEL_RESOURCE_ATTRIBUTES", "", "service.name=from-attrs,deployment.environment=dev", "from-attrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", tt.svcEnv)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tt.attrsEnv)
			res, err := Resource(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, _ := res.Set().Value("service.name")
			if tt.svcEnv == "" && tt.attrsEnv == "" {
				if !strings.HasPrefix(got.AsString(), tt.want) {
					t.Errorf("service.name %q, want the prefix %q", got.AsString(), tt.want)
				}
			} else if got.AsString() != tt.want {
				t.Errorf("service.name %q, want %q", got.AsString(), tt.want)
			}
			if v, _ := res.Set().Value("telemetry.sdk.language"); v.AsString() != "go" {
				t.Errorf("telemetry.sdk.language %q", v.AsString())
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"PORT": "5000", "FRONTEND_URL": "http://f", "BACKEND_URL": "http://b", "OTEL_SERVICE_NAME": "svc",
		"AWS_XRAY_URL": "*4567*", "AWS_XRAY_DAEMON_ADDRESS": "xray-daemon:2000", "CRUDDUR_UPSTREAM_URL": "http://u/x",
		"CRUDDUR_SHARE_TRACE_ID": "1",
	}
	got, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// OTEL_SERVICE_NAME does not name the X-Ray segments: the lesson's
	// service='backend-flask' does.
	want := Config{Addr: ":5000", FrontendURL: "http://f", BackendURL: "http://b", OTelServiceName: "svc",
		XRayServiceName: "backend-flask", XRayURL: "*4567*", XRayDaemonAddr: "xray-daemon:2000",
		ShareTraceID: true, UpstreamURL: "http://u/x", ShutdownTimeout: 10 * time.Second}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	got, err = ConfigFromEnv(func(string) string { return "" })
	if err != nil || got != DefaultConfig() || got.ShareTraceID {
		t.Errorf("empty environment: %+v, %v", got, err)
	}
	for v, want := range map[string]bool{"0": false, "false": false, "true": true} {
		got, err := ConfigFromEnv(func(k string) string { return map[string]string{"CRUDDUR_SHARE_TRACE_ID": v}[k] })
		if err != nil || got.ShareTraceID != want {
			t.Errorf("CRUDDUR_SHARE_TRACE_ID=%s: %v, %v", v, got.ShareTraceID, err)
		}
	}
	if _, err := ConfigFromEnv(func(k string) string { return map[string]string{"CRUDDUR_SHARE_TRACE_ID": "yes"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "CRUDDUR_SHARE_TRACE_ID") {
		t.Errorf("CRUDDUR_SHARE_TRACE_ID=yes: err %v, want one naming the variable", err)
	}
}

func TestUpstreamURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv6zero, Port: 4567}
	tests := []struct{ configured, want string }{
		{"", "http://127.0.0.1:4567/api/health"},
		{"off", ""},
		{"http://localhost:9/x", "http://localhost:9/x"},
	}
	for _, tt := range tests {
		if got := UpstreamURL(tt.configured, addr); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.configured, got, tt.want)
		}
	}
}

// BenchmarkServe measures one traced request (OTel spans to a recorder,
// X-Ray segments over UDP) through the whole middleware stack.
func BenchmarkServe(b *testing.B) {
	for _, p := range []string{"/api/activities/@andrewbrown", "/api/message_groups"} {
		b.Run(p, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider()
			d := newUDPDaemon(b)
			xctx, err := XRayContext(d.addr, alwaysSample(b))
			if err != nil {
				b.Fatal(err)
			}
			srv := NewServer(Config{XRayServiceName: XRayServiceName}, nilLogger(), Telemetry{TracerProvider: tp, Propagator: Propagator(), XRay: xctx}, "")
			defer srv.Close()
			req := httptest.NewRequest(http.MethodGet, p, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req.Clone(req.Context()))
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func TestXRayLoggerLimitsErrors(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	lg := XRayLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))).(*xrayLogger)
	lg.now = func() time.Time { return now }
	lg.Log(xraylog.LogLevelError, stringer("e1"))
	lg.Log(xraylog.LogLevelError, stringer("e2"))
	lg.Log(xraylog.LogLevelWarn, stringer("w3"))
	lg.Log(xraylog.LogLevelInfo, stringer("i4"))
	now = now.Add(11 * time.Second)
	lg.Log(xraylog.LogLevelError, stringer("e5"))
	out := buf.String()
	for _, want := range []string{"msg=e1", "msg=i4", "msg=e5 component=xray-sdk suppressed=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"msg=e2", "msg=w3"} {
		if strings.Contains(out, not) {
			t.Errorf("log has %q:\n%s", not, out)
		}
	}
}
