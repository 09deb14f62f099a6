package otlp

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

// goldenInfo is the request info every golden logs and metrics request is
// decoded with: a dataset header and a fixed receive time.
var goldenInfo = RequestInfo{Dataset: "from-header", Received: time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)}

// renderSignal is render for logs and metrics results, naming the counted
// items.
func renderSignal(res Result, items string) []byte {
	b := render(res)
	return bytes.Replace(b, []byte(`{"spans":`), []byte(`{"`+items+`":`), 1)
}

// signalCase describes how one signal's requests are read in tests.
type signalCase struct {
	sig   signalKind
	dir   string // testdata subdirectory
	items string
	msg   func() proto.Message
	pb    func([]byte, RequestInfo) (Result, error)
	json  func([]byte, RequestInfo) (Result, error)
}

var signalCases = []signalCase{
	{sigLogs, "logs", "log_records", func() proto.Message { return &collogspb.ExportLogsServiceRequest{} }, DecodeLogsProtobuf, DecodeLogsJSON},
	{sigMetrics, "metrics", "data_points", func() proto.Message { return &colmetricspb.ExportMetricsServiceRequest{} }, DecodeMetricsProtobuf, DecodeMetricsJSON},
}

// parseSignalJSON reads an OTLP/JSON request of any signal into m.
func parseSignalJSON(t testing.TB, body []byte, m proto.Message) {
	t.Helper()
	b, err := hexIDsToBase64(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
}

// signalProto returns an OTLP/JSON test request re-encoded as protobuf.
func signalProto(t testing.TB, sc signalCase, body []byte) []byte {
	t.Helper()
	m := sc.msg()
	parseSignalJSON(t, body, m)
	pb, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// TestSignalsGolden decodes every testdata/logs/*.json and
// testdata/metrics/*.json request both as OTLP/JSON and, re-encoded, as
// protobuf; both must render to the .golden file beside it.
func TestSignalsGolden(t *testing.T) {
	for _, sc := range signalCases {
		inputs, err := filepath.Glob(filepath.Join("testdata", sc.dir, "*.json"))
		if err != nil || len(inputs) == 0 {
			t.Fatalf("no %s inputs: %v", sc.dir, err)
		}
		for _, in := range inputs {
			name := strings.TrimSuffix(in, ".json")
			t.Run(name, func(t *testing.T) {
				body, err := os.ReadFile(in)
				mustf(t, err, "read")
				res, err := sc.json(body, goldenInfo)
				mustf(t, err, "JSON decode")
				got := renderSignal(res, sc.items)
				path := name + ".golden"
				golden.Check(t, path, got)
				want, err := os.ReadFile(path)
				mustf(t, err, "read")
				pres, err := sc.pb(signalProto(t, sc, body), goldenInfo)
				mustf(t, err, "protobuf decode")
				if got := renderSignal(pres, sc.items); !bytes.Equal(got, want) {
					t.Errorf("protobuf decode differs from %s:\n got: %s\nwant: %s", path, got, want)
				}
			})
		}
	}
}

// itoa is strconv.Itoa, short for table tests.
func itoa(n int) string { return strconv.Itoa(n) }

// signalBody is one valid request per signal, as OTLP/JSON and protobuf,
// with what it stores.
type signalBody struct {
	sig            signalKind
	json, pb       []byte
	events         int
	accepted       int
	rejected       int
	receivedMetric string
}

func signalBodies(t *testing.T) []signalBody {
	t.Helper()
	jsonTraces, pbTraces, _, _ := testBodies(t)
	out := []signalBody{{sig: sigTraces, json: jsonTraces, pb: pbTraces, events: 7, accepted: 3, receivedMetric: "tracecomb_otlp_spans_received_total"}}
	for _, sc := range signalCases {
		file := map[signalKind]string{sigLogs: "testdata/logs/basic.json", sigMetrics: "testdata/metrics/kinds.json"}[sc.sig]
		js, err := os.ReadFile(file)
		mustf(t, err, "read")
		res, err := sc.json(js, RequestInfo{})
		mustf(t, err, "decode")
		out = append(out, signalBody{sig: sc.sig, json: js, pb: signalProto(t, sc, js), events: len(res.Events), accepted: res.Accepted, rejected: res.Rejected,
			receivedMetric: "tracecomb_otlp_" + signals[sc.sig].metricItems + "_received_total"})
	}
	return out
}

// httpAnswer is what a client sees of an answer.
type httpAnswer struct {
	status     int
	ct         string
	retryAfter string
	msg        string // the text body, or the google.rpc.Status message
	code       codes.Code
	body       []byte
}

func serveOnce(t *testing.T, h http.Handler, method, path, ct, enc, key string, body []byte) httpAnswer {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	if key != "" {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	a := httpAnswer{status: w.Code, ct: w.Header().Get("Content-Type"), retryAfter: w.Header().Get("Retry-After"), body: w.Body.Bytes()}
	if a.status == 200 {
		return a
	}
	switch {
	case strings.HasPrefix(a.ct, "text/plain"):
		a.msg = w.Body.String()
	case a.ct == "application/json":
		var st struct{ Message string }
		if err := jsonStrict(w.Body.Bytes(), &st); err != nil {
			t.Fatalf("JSON failure body %q: %v", w.Body.Bytes(), err)
		}
		a.msg = st.Message
	default:
		var st statuspb.Status
		if err := proto.Unmarshal(w.Body.Bytes(), &st); err != nil {
			t.Fatalf("failure body is not a google.rpc.Status: %v", err)
		}
		a.msg, a.code = st.Message, codes.Code(st.Code)
	}
	return a
}

// TestHTTPSignals sends every kind of bad input to /v1/logs and
// /v1/metrics and wants exactly the status, content type, Retry-After and
// message that /v1/traces gives for it, with nothing stored; good input
// stores everything it carries and answers the signal's response.
func TestHTTPSignals(t *testing.T) {
	bodies := signalBodies(t)
	const pb, js = "application/x-protobuf", "application/json"
	bomb := gzipped(t, make([]byte, 5000))
	type tc struct {
		name        string
		method      string
		suffix      string // appended to the signal's path
		ct, enc     string
		key         string // "" = the good key, "-" = none
		body        func(b signalBody) []byte
		cfg         Config
		consumerErr error
		wantStatus  int
	}
	good := func(b signalBody) []byte { return b.pb }
	goodJSON := func(b signalBody) []byte { return b.json }
	raw := func(s string) func(signalBody) []byte { return func(signalBody) []byte { return []byte(s) } }
	cases := []tc{
		{name: "protobuf", ct: pb, body: good, wantStatus: 200},
		{name: "application/protobuf", ct: "application/protobuf", body: good, wantStatus: 200},
		{name: "json", ct: "application/json; charset=utf-8", body: goodJSON, wantStatus: 200},
		{name: "trailing slash", suffix: "/", ct: pb, body: good, wantStatus: 200},
		{name: "gzip", ct: pb, enc: "gzip", body: func(b signalBody) []byte { return gzipped(t, b.pb) }, wantStatus: 200},
		{name: "zstd", ct: js, enc: "zstd", body: func(b signalBody) []byte { return zstded(t, b.json) }, wantStatus: 200},
		{name: "empty request", ct: pb, body: raw(""), wantStatus: 200},

		{name: "wrong content type", ct: "text/plain", body: good, wantStatus: 415},
		{name: "no content type", body: good, wantStatus: 415},
		{name: "415 before 401", ct: "application/xml", key: "-", body: good, wantStatus: 415},
		{name: "missing key json", ct: js, key: "-", body: goodJSON, wantStatus: 401},
		{name: "missing key protobuf", ct: pb, key: "-", body: good, wantStatus: 401},
		{name: "unknown key", ct: js, key: "nope", body: goodJSON, wantStatus: 401},
		{name: "disabled key", ct: pb, key: disabledKey, body: good, wantStatus: 401},
		{name: "unparseable protobuf", ct: pb, body: raw("\xff\xff\xff"), wantStatus: 400},
		{name: "unparseable json", ct: js, body: raw(`{"resourceLogs":[`), wantStatus: 400},
		{name: "wrong JSON types", ct: js, body: raw(`{"resourceLogs":{"x":1},"resourceMetrics":{"x":1},"resourceSpans":{"x":1}}`), wantStatus: 400},
		{name: "json body sent as protobuf", ct: pb, body: goodJSON, wantStatus: 400},
		{name: "unknown encoding", ct: pb, enc: "br", body: good, wantStatus: 400},
		{name: "corrupt gzip", ct: pb, enc: "gzip", body: good, wantStatus: 400},
		{name: "corrupt zstd", ct: js, enc: "zstd", body: goodJSON, wantStatus: 400},
		{name: "too large", ct: pb, body: good, cfg: Config{MaxBodyBytes: 100}, wantStatus: 413},
		{name: "gzip bomb", ct: pb, enc: "gzip", body: func(signalBody) []byte { return bomb }, cfg: Config{MaxBodyBytes: 1000, MaxDecompressedBytes: 1000}, wantStatus: 413},
		{name: "overloaded", ct: pb, body: good, consumerErr: ingest.ErrOverloaded, wantStatus: 429},
		{name: "shutting down", ct: js, body: goodJSON, consumerErr: ingest.ErrShuttingDown, wantStatus: 503},
		{name: "store failing", ct: pb, body: good, consumerErr: errors.New("disk full"), wantStatus: 503},
		{name: "permanent", ct: js, body: goodJSON, consumerErr: ingest.Permanentf("event too big"), wantStatus: 400},
		{name: "GET", method: http.MethodGet, ct: pb, body: raw(""), wantStatus: 405},
		{name: "subpath", suffix: "/x", ct: pb, body: good, wantStatus: 404},
	}
	answer := func(t *testing.T, c tc, b signalBody, rec *recorder, reg *prometheus.Registry) httpAnswer {
		h := NewHTTPHandler(c.cfg, newDeps(rec, reg))
		key := c.key
		switch key {
		case "":
			key = goodKey
		case "-":
			key = ""
		}
		method := c.method
		if method == "" {
			method = http.MethodPost
		}
		return serveOnce(t, h, method, signals[b.sig].path+c.suffix, c.ct, c.enc, key, c.body(b))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := answer(t, c, bodies[0], &recorder{err: c.consumerErr}, prometheus.NewRegistry())
			if want.status != c.wantStatus {
				t.Fatalf("traces: status %d, want %d (%s)", want.status, c.wantStatus, want.msg)
			}
			for _, b := range bodies[1:] {
				name := signals[b.sig].name
				rec := &recorder{err: c.consumerErr}
				reg := prometheus.NewRegistry()
				got := answer(t, c, b, rec, reg)
				// The traces path's words for its own items and path.
				wantMsg := strings.ReplaceAll(want.msg, "spans", signals[b.sig].items)
				wantMsg = strings.ReplaceAll(wantMsg, PathTraces, signals[b.sig].path)
				if strings.HasPrefix(want.msg, msgParseFailed+": ") {
					// The parser's own detail differs with the message type.
					wantMsg = want.msg[:len(msgParseFailed)+2]
					got.msg = got.msg[:min(len(got.msg), len(wantMsg))]
				}
				if c.name == "subpath" {
					wantMsg = want.msg // the list of every signal's path
					wantMsg = strings.Replace(wantMsg, PathTraces+"/x", signals[b.sig].path+"/x", 1)
				}
				if got.status != want.status || got.ct != want.ct || got.retryAfter != want.retryAfter || got.msg != wantMsg || got.code != want.code {
					t.Errorf("%s: %d %q Retry-After %q %v %q\n traces gave %d %q Retry-After %q %v %q", name,
						got.status, got.ct, got.retryAfter, got.code, got.msg, want.status, want.ct, want.retryAfter, want.code, wantMsg)
				}
				stored := len(rec.events())
				if c.wantStatus != 200 && stored != 0 {
					t.Errorf("%s: status %d but %d events stored", name, got.status, stored)
				}
				if c.wantStatus == 200 && c.name != "empty request" {
					if stored != b.events {
						t.Errorf("%s: stored %d events, want %d", name, stored, b.events)
					}
					checkSignalSuccess(t, b.sig, got, b.rejected)
					if n := counter(t, reg, b.receivedMetric, nil); n != float64(b.accepted+b.rejected) {
						t.Errorf("%s: %s = %v, want %d", name, b.receivedMetric, n, b.accepted+b.rejected)
					}
				}
				label := name
				if got.status == 404 {
					label = "unknown"
				}
				if n := counter(t, reg, "tracecomb_otlp_requests_total", map[string]string{"signal": label, "code": itoa(got.status)}); n != 1 {
					t.Errorf("%s: requests_total{signal=%s,code=%d} = %v, want 1", name, label, got.status, n)
				}
			}
		})
	}
}

// checkSignalSuccess reads a 200 answer as the signal's
// Export*ServiceResponse and checks its partial success.
func checkSignalSuccess(t *testing.T, sig signalKind, a httpAnswer, wantRejected int) {
	t.Helper()
	var m proto.Message
	var rejected func() int64
	var ps func() bool
	switch sig {
	case sigLogs:
		r := &collogspb.ExportLogsServiceResponse{}
		m, rejected, ps = r, func() int64 { return r.GetPartialSuccess().GetRejectedLogRecords() }, func() bool { return r.PartialSuccess != nil }
	case sigMetrics:
		r := &colmetricspb.ExportMetricsServiceResponse{}
		m, rejected, ps = r, func() int64 { return r.GetPartialSuccess().GetRejectedDataPoints() }, func() bool { return r.PartialSuccess != nil }
	default:
		t.Fatalf("signal %d", sig)
	}
	if a.ct == "application/json" {
		if wantRejected == 0 && string(a.body) != "{}" {
			t.Errorf("JSON success body %q, want {}", a.body)
		}
		mustf(t, protojson.Unmarshal(a.body, m), "JSON success body %q", a.body)
	} else {
		mustf(t, proto.Unmarshal(a.body, m), "protobuf success body")
	}
	if got := rejected(); got != int64(wantRejected) || ps() != (wantRejected > 0) {
		t.Errorf("%s: partial success rejected %d (set %v), want %d", signals[sig].name, got, ps(), wantRejected)
	}
}

// TestWrongPathMessage: an endpoint with a signal's path appended is told
// that the SDK appends it, naming that signal's own variable; any other
// path gets the list of OTLP paths.
func TestWrongPathMessage(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/logs/v1/logs":       "the SDK appends /v1/logs itself; OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is the one that takes the whole URL",
		"/api/v1/metrics":        "the SDK appends /v1/metrics itself; OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"/v1/traces/v1/traces/":  "the SDK appends /v1/traces itself; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"/v1/trace":              "unknown path /v1/trace: OTLP/HTTP traces go to /v1/traces, logs to /v1/logs, metrics to /v1/metrics",
		"/v1/metrics/v1/metrics": "the SDK appends /v1/metrics itself",
	} {
		if got := WrongPathMessage(path); !strings.Contains(got, want) {
			t.Errorf("WrongPathMessage(%q) = %q, want it to contain %q", path, got, want)
		}
	}
	h := NewHTTPHandler(Config{}, newDeps(&recorder{}, nil))
	a := serveOnce(t, h, http.MethodPost, "/v1/logs/v1/logs", "application/x-protobuf", "", goodKey, nil)
	if a.status != 404 || a.msg != WrongPathMessage("/v1/logs/v1/logs") {
		t.Errorf("POST /v1/logs/v1/logs: %d %q", a.status, a.msg)
	}
}
