package backend

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	// The X-Ray SDK prefers this variable over the address a test gives it.
	os.Unsetenv("AWS_XRAY_DAEMON_ADDRESS")
	goleak.VerifyTestMain(m,
		// The SDK's centralized sampling pollers (started by the first
		// decision in TestRunFlushesOnShutdown) have no way to stop.
		goleak.IgnoreTopFunction("github.com/aws/aws-xray-sdk-go/strategy/sampling.(*CentralizedStrategy).startRulePoller.func2"),
		goleak.IgnoreTopFunction("github.com/aws/aws-xray-sdk-go/strategy/sampling.(*CentralizedStrategy).startTargetPoller.func1"),
	)
}

// fixedNow is the clock of the golden files.
var fixedNow = time.Date(2023, 2, 20, 10, 11, 12, 123456000, time.UTC)

// alwaysSample is an X-Ray local sampling strategy that samples everything.
func alwaysSample(t testing.TB) sampling.Strategy {
	t.Helper()
	s, err := sampling.NewLocalizedStrategyFromJSONBytes([]byte(`{"version":2,"rules":[],"default":{"fixed_target":0,"rate":1.0}}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func nilLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type testEnv struct {
	srv    *Server
	ts     *httptest.Server
	spans  *tracetest.SpanRecorder
	daemon *udpDaemon
}

// newTestEnv serves a backend on a loopback port, recording its OTel spans
// in memory and receiving its X-Ray segments on a UDP socket. The OTel ids
// are made as SetupTelemetry makes them for cfg (X-Ray's layout only with
// cfg.ShareTraceID).
func newTestEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(TracerProviderOptions(cfg, sdktrace.WithSpanProcessor(rec))...)
	d := newUDPDaemon(t)
	xctx, err := XRayContext(d.addr, alwaysSample(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XRayServiceName == "" {
		cfg.XRayServiceName = XRayServiceName
	}
	tel := Telemetry{TracerProvider: tp, Propagator: Propagator(), XRay: xctx}
	srv := NewServer(cfg, nilLogger(), tel, "")
	srv.now = func() time.Time { return fixedNow }
	ts := httptest.NewServer(srv)
	srv.upstream = ts.URL + "/api/health"
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		_ = tp.Shutdown(t.Context())
	})
	return &testEnv{srv: srv, ts: ts, spans: rec, daemon: d}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(t testing.TB, method, path, contentType, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestGetRoutesGolden checks every read route's answer against
// testdata/<name>.json, with the clock fixed.
func TestGetRoutesGolden(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	tests := []struct{ name, path string }{
		{"health", "/api/health"},
		{"home", "/api/activities/home"},
		{"notifications", "/api/activities/notifications"},
		{"user_andrewbrown", "/api/activities/@andrewbrown"},
		{"user_worf", "/api/activities/@worf"},
		{"user_londo", "/api/activities/@londo"},
		{"search", "/api/activities/search?term=cloud"},
		{"message_groups", "/api/message_groups"},
		{"messages_worf", "/api/messages/@worf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", tt.path, "", "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			golden(t, filepath.Join("testdata", tt.name+".json"), indent(t, r.body))
		})
	}
}

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return out.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCreateRoutes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	long280 := strings.Repeat("é", MaxActivityChars) // 280 characters, 560 bytes
	long1024 := strings.Repeat("x", MaxReplyChars)
	tests := []struct {
		name, path, body string
		want             map[string]any
	}{
		{"activity", "/api/activities", `{"message":"Cloud is fun!","ttl":"7-days"}`,
			map[string]any{"display_name": "Andrew Brown", "handle": "andrewbrown", "message": "Cloud is fun!",
				"created_at": "2023-02-20T10:11:12.123456+00:00", "expires_at": "2023-02-27T10:11:12.123456+00:00"}},
		{"activity 280 characters", "/api/activities", `{"message":"` + long280 + `","ttl":"1-hour"}`,
			map[string]any{"message": long280, "expires_at": "2023-02-20T11:11:12.123456+00:00"}},
		{"reply", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply", `{"message":"Qapla'"}`,
			map[string]any{"display_name": "Andrew Brown", "handle": "andrewbrown", "message": "Qapla'",
				"reply_to_activity_uuid": "68f126b0-1ceb-4a33-88be-d90fa7109eee"}},
		{"reply 1024 characters", "/api/activities/x/reply", `{"message":"` + long1024 + `"}`,
			map[string]any{"message": long1024, "reply_to_activity_uuid": "x"}},
		{"message", "/api/messages", `{"message":"hello","user_receiver_handle":"worf"}`,
			map[string]any{"display_name": "Andrew Brown", "handle": "andrewbrown", "message": "hello",
				"created_at": "2023-02-20T10:11:12.123456+00:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", tt.path, "application/json", tt.body, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.body)
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if id, _ := got["uuid"].(string); !uuidRE.MatchString(id) {
				t.Errorf("uuid %q is not a version 4 UUID", got["uuid"])
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	const js = "application/json"
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string
	}{
		{"activity without fields", "POST", "/api/activities", js, `{}`, 422, `["ttl_blank","message_blank"]`},
		{"activity blank message", "POST", "/api/activities", js, `{"message":"","ttl":"1-day"}`, 422, `["message_blank"]`},
		{"activity unknown ttl", "POST", "/api/activities", js, `{"message":"hi","ttl":"2-days"}`, 422, `["ttl_blank"]`},
		{"activity 281 characters", "POST", "/api/activities", js, `{"message":"` + strings.Repeat("é", 281) + `","ttl":"1-day"}`, 422, `["message_exceed_max_chars"]`},
		{"activity message not a string", "POST", "/api/activities", js, `{"message":5,"ttl":"1-day"}`, 422, `["message_not_a_string"]`},
		{"activity null body", "POST", "/api/activities", js, `null`, 422, `["ttl_blank","message_blank"]`},
		{"activity not JSON", "POST", "/api/activities", js, `{"message":`, 400, `["invalid_json"]`},
		{"activity array body", "POST", "/api/activities", js, `["hi"]`, 400, `["invalid_json"]`},
		{"activity trailing data", "POST", "/api/activities", js, `{} {}`, 400, `["invalid_json"]`},
		{"activity form body", "POST", "/api/activities", "application/x-www-form-urlencoded", `message=hi`, 415, `["content_type_not_json"]`},
		{"activity no content type", "POST", "/api/activities", "", `{"message":"hi","ttl":"1-day"}`, 415, `["content_type_not_json"]`},
		{"activity body too large", "POST", "/api/activities", js, `{"message":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, `["body_too_large"]`},
		{"reply blank", "POST", "/api/activities/abc/reply", js, `{}`, 422, `["message_blank"]`},
		{"reply 1025 characters", "POST", "/api/activities/abc/reply", js, `{"message":"` + strings.Repeat("x", 1025) + `"}`, 422, `["message_exceed_max_chars"]`},
		{"message without fields", "POST", "/api/messages", js, `{}`, 422, `["user_reciever_handle_blank","message_blank"]`},
		{"message 1025 characters", "POST", "/api/messages", js, `{"message":"` + strings.Repeat("x", 1025) + `","user_receiver_handle":"worf"}`, 422, `["message_exceed_max_chars"]`},
		{"message unknown receiver", "POST", "/api/messages", js, `{"message":"hi","user_receiver_handle":"q"}`, 404, `["user_not_found"]`},
		{"user unknown handle", "GET", "/api/activities/@nobody", "", "", 404, `["user_not_found"]`},
		{"user blank handle", "GET", "/api/activities/@", "", "", 422, `["blank_user_handle"]`},
		{"user without @", "GET", "/api/activities/andrewbrown", "", "", 404, `["not_found"]`},
		{"messages unknown handle", "GET", "/api/messages/@nobody", "", "", 404, `["user_not_found"]`},
		{"messages without @", "GET", "/api/messages/worf", "", "", 404, `["not_found"]`},
		{"search without term", "GET", "/api/activities/search", "", "", 422, `["search_term_blank"]`},
		{"search blank term", "GET", "/api/activities/search?term=", "", "", 422, `["search_term_blank"]`},
		{"unknown path", "GET", "/api/nothing", "", "", 404, `["not_found"]`},
		{"wrong method", "DELETE", "/api/activities/home", "", "", 405, `["method_not_allowed"]`},
		{"get on a post route", "GET", "/api/messages", "", "", 405, `["method_not_allowed"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.ctype, tt.body, nil)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if got := strings.TrimSpace(string(r.body)); got != tt.want {
				t.Errorf("body %s, want %s", got, tt.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const front, back = "http://localhost:3000", "http://localhost:4567"
	e := newTestEnv(t, Config{FrontendURL: front, BackendURL: back})
	type hdrs = map[string]string
	tests := []struct {
		name, method, path string
		req                hdrs
		status             int
		origins            []string // Access-Control-Allow-Origin values
		want               hdrs     // other headers ("" = absent)
	}{
		{"frontend origin", "GET", "/api/activities/home", hdrs{"Origin": front}, 200, []string{front},
			hdrs{"Access-Control-Expose-Headers": "location,link", "Vary": "Origin", "Access-Control-Allow-Methods": ""}},
		{"backend origin, other case", "GET", "/api/message_groups", hdrs{"Origin": "HTTP://LOCALHOST:4567"}, 200, []string{"HTTP://LOCALHOST:4567"},
			hdrs{"Access-Control-Expose-Headers": "location,link"}},
		{"foreign origin", "GET", "/api/activities/home", hdrs{"Origin": "http://evil.example"}, 200, nil,
			hdrs{"Access-Control-Expose-Headers": "", "Vary": ""}},
		{"no origin sends all", "GET", "/api/activities/home", nil, 200, []string{front, back},
			hdrs{"Access-Control-Expose-Headers": "location,link"}},
		{"preflight", "OPTIONS", "/api/activities", hdrs{"Origin": front, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "X-Custom, Content-Type"}, 200, []string{front},
			hdrs{"Access-Control-Allow-Methods": "OPTIONS,GET,HEAD,POST", "Access-Control-Allow-Headers": "Content-Type", "Allow": "POST, OPTIONS"}},
		{"preflight two allowed headers", "OPTIONS", "/api/activities/abc/reply", hdrs{"Origin": front, "Access-Control-Request-Method": "post",
			"Access-Control-Request-Headers": "if-modified-since,content-type"}, 200, []string{front},
			hdrs{"Access-Control-Allow-Headers": "content-type, if-modified-since"}},
		{"preflight disallowed method", "OPTIONS", "/api/activities", hdrs{"Origin": front, "Access-Control-Request-Method": "DELETE"}, 200, []string{front},
			hdrs{"Access-Control-Allow-Methods": "", "Access-Control-Allow-Headers": ""}},
		{"preflight get route", "OPTIONS", "/api/activities/@worf", hdrs{"Origin": front, "Access-Control-Request-Method": "GET"}, 200, []string{front},
			hdrs{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": "OPTIONS,GET,HEAD,POST"}},
		{"preflight unknown path", "OPTIONS", "/api/nothing", hdrs{"Origin": front, "Access-Control-Request-Method": "GET"}, 404, []string{front}, nil},
		{"not under /api", "GET", "/other", hdrs{"Origin": front}, 404, nil, hdrs{"Vary": ""}},
		{"error answers too", "GET", "/api/activities/@nobody", hdrs{"Origin": front}, 404, []string{front}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, "", "", tt.req)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			got := r.header.Values("Access-Control-Allow-Origin")
			if strings.Join(got, " ") != strings.Join(tt.origins, " ") {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.origins)
			}
			for k, v := range tt.want {
				if g := r.header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestCORSWithoutOrigins(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	r := e.do(t, "GET", "/api/activities/home", "", "", map[string]string{"Origin": "http://localhost:3000"})
	if v := r.header.Values("Access-Control-Allow-Origin"); len(v) != 0 {
		t.Errorf("no origins configured, got Access-Control-Allow-Origin %q", v)
	}
}

func TestHeadAnswersGetRoutes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, Config{})
	r := e.do(t, "HEAD", "/api/activities/home", "", "", nil)
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD: status %d, %d body bytes", r.status, len(r.body))
	}
}
