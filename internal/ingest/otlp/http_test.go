package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// testBodies returns testdata/basic.json as OTLP/JSON and as protobuf, and
// rejected.json (which has invalid ids) likewise.
func testBodies(t *testing.T) (jsonBody, pbBody, rejJSON, rejPB []byte) {
	t.Helper()
	var err error
	jsonBody, err = os.ReadFile("testdata/basic.json")
	mustf(t, err, "read")
	pbBody, err = proto.Marshal(parseJSONRequest(t, jsonBody))
	mustf(t, err, "marshal")
	rejJSON, err = os.ReadFile("testdata/rejected.json")
	mustf(t, err, "read")
	rejPB, err = proto.Marshal(parseJSONRequest(t, rejJSON))
	mustf(t, err, "marshal")
	return
}

func TestHTTPHandler(t *testing.T) {
	jsonBody, pbBody, rejJSON, rejPB := testBodies(t)
	const pb, js = "application/x-protobuf", "application/json"
	bomb := gzipped(t, make([]byte, 5000))

	type tc struct {
		name        string
		method      string
		path        string
		contentType string
		encoding    string
		key         string
		keyHeader   string
		body        []byte
		chunked     bool // unknown Content-Length
		cfg         Config
		consumerErr error

		wantStatus     int
		wantCT         string
		wantMsg        string // substring of the failure message
		wantCode       codes.Code
		wantRetryAfter string
		wantEvents     int // events stored
		wantRejected   int64
	}
	tests := []tc{
		{name: "protobuf ok", contentType: pb, body: pbBody, wantStatus: 200, wantCT: pb, wantEvents: 7},
		{name: "application/protobuf ok", contentType: "application/protobuf", body: pbBody, wantStatus: 200, wantCT: "application/protobuf", wantEvents: 7},
		{name: "json ok", contentType: js, body: jsonBody, wantStatus: 200, wantCT: js, wantEvents: 7},
		{name: "json with charset", contentType: "Application/JSON; charset=utf-8", body: jsonBody, wantStatus: 200, wantCT: js, wantEvents: 7},
		{name: "trailing slash", path: "/v1/traces/", contentType: pb, body: pbBody, wantStatus: 200, wantCT: pb, wantEvents: 7},
		{name: "X-Hny-Team", contentType: pb, body: pbBody, keyHeader: "X-Hny-Team", wantStatus: 200, wantCT: pb, wantEvents: 7},
		{name: "gzip", contentType: pb, encoding: "gzip", body: gzipped(t, pbBody), wantStatus: 200, wantCT: pb, wantEvents: 7},
		{name: "zstd", contentType: js, encoding: "zstd", body: zstded(t, jsonBody), wantStatus: 200, wantCT: js, wantEvents: 7},
		{name: "identity", contentType: pb, encoding: "identity", body: pbBody, wantStatus: 200, wantCT: pb, wantEvents: 7},
		{name: "empty protobuf request", contentType: pb, body: nil, wantStatus: 200, wantCT: pb},
		{name: "partial success protobuf", contentType: pb, body: rejPB, wantStatus: 200, wantCT: pb, wantEvents: 2, wantRejected: 6},
		{name: "partial success json", contentType: js, body: rejJSON, wantStatus: 200, wantCT: js, wantEvents: 2, wantRejected: 6},

		{name: "wrong content type", contentType: "text/plain", body: pbBody, wantStatus: 415, wantCT: "text/plain; charset=utf-8", wantMsg: msgUnsupportedType},
		{name: "no content type", contentType: "", body: pbBody, wantStatus: 415, wantCT: "text/plain; charset=utf-8", wantMsg: msgUnsupportedType},
		{name: "415 before 401", contentType: "application/xml", key: "-", body: pbBody, wantStatus: 415, wantCT: "text/plain; charset=utf-8", wantMsg: msgUnsupportedType},

		{name: "missing key json", contentType: js, key: "-", body: jsonBody, wantStatus: 401, wantCT: js, wantMsg: auth.ErrMissingKey.Error(), wantCode: codes.Unauthenticated},
		{name: "missing key protobuf", contentType: pb, key: "-", body: pbBody, wantStatus: 401, wantCT: pb, wantMsg: auth.ErrMissingKey.Error(), wantCode: codes.Unauthenticated},
		{name: "unknown key", contentType: js, key: "nope", body: jsonBody, wantStatus: 401, wantCT: js, wantMsg: auth.ErrUnknownKey.Error(), wantCode: codes.Unauthenticated},
		{name: "disabled key", contentType: pb, key: disabledKey, body: pbBody, wantStatus: 401, wantCT: pb, wantMsg: auth.ErrDisabledKey.Error(), wantCode: codes.Unauthenticated},

		{name: "unparseable protobuf", contentType: pb, body: []byte("\xff\xff\xff"), wantStatus: 400, wantCT: pb, wantMsg: msgParseFailed, wantCode: codes.InvalidArgument},
		{name: "unparseable json", contentType: js, body: []byte(`{"resourceSpans":[`), wantStatus: 400, wantCT: js, wantMsg: msgParseFailed, wantCode: codes.InvalidArgument},
		{name: "json body sent as protobuf", contentType: pb, body: jsonBody, wantStatus: 400, wantCT: pb, wantMsg: msgParseFailed, wantCode: codes.InvalidArgument},
		{name: "unknown encoding", contentType: pb, encoding: "br", body: pbBody, wantStatus: 400, wantCT: pb, wantMsg: "unsupported content-encoding", wantCode: codes.InvalidArgument},
		{name: "corrupt gzip", contentType: pb, encoding: "gzip", body: pbBody, wantStatus: 400, wantCT: pb, wantMsg: "failed to decompress", wantCode: codes.InvalidArgument},
		{name: "corrupt zstd", contentType: js, encoding: "zstd", body: jsonBody, wantStatus: 400, wantCT: js, wantMsg: "failed to decompress", wantCode: codes.InvalidArgument},

		{name: "too large by Content-Length", contentType: pb, body: pbBody, cfg: Config{MaxBodyBytes: 100}, wantStatus: 413, wantCT: pb, wantMsg: msgTooLarge, wantCode: codes.InvalidArgument},
		{name: "too large chunked", contentType: js, body: jsonBody, chunked: true, cfg: Config{MaxBodyBytes: 100}, wantStatus: 413, wantCT: js, wantMsg: msgTooLarge, wantCode: codes.InvalidArgument},
		{name: "decompression bomb", contentType: pb, encoding: "gzip", body: bomb, cfg: Config{MaxBodyBytes: 1000, MaxDecompressedBytes: 1000}, wantStatus: 413, wantCT: pb, wantMsg: "after decompression", wantCode: codes.InvalidArgument},
		{name: "zstd bomb", contentType: pb, encoding: "zstd", body: zstded(t, make([]byte, 5000)), cfg: Config{MaxBodyBytes: 1000, MaxDecompressedBytes: 1000}, wantStatus: 413, wantCT: pb, wantMsg: "after decompression", wantCode: codes.InvalidArgument},

		{name: "overloaded", contentType: pb, body: pbBody, consumerErr: fmt.Errorf("queue full: %w", ingest.ErrOverloaded), wantStatus: 429, wantCT: pb, wantMsg: "overloaded", wantCode: codes.Unavailable, wantRetryAfter: "1"},
		{name: "shutting down", contentType: js, body: jsonBody, consumerErr: ingest.ErrShuttingDown, wantStatus: 503, wantCT: js, wantMsg: "shutting down", wantCode: codes.Unavailable, wantRetryAfter: "1"},
		{name: "store failing", contentType: pb, body: pbBody, consumerErr: errors.New("disk full"), cfg: Config{RetryAfter: 2500e6}, wantStatus: 503, wantCT: pb, wantMsg: "disk full", wantCode: codes.Unavailable, wantRetryAfter: "3"},
		{name: "permanent", contentType: js, body: jsonBody, consumerErr: ingest.Permanentf("event too big"), wantStatus: 400, wantCT: js, wantMsg: "event too big", wantCode: codes.InvalidArgument},

		{name: "GET", method: http.MethodGet, contentType: pb, wantStatus: 405, wantCT: "text/plain; charset=utf-8", wantMsg: "POST"},
		{name: "other path", path: "/v1/traces/x", contentType: pb, body: pbBody, wantStatus: 404, wantCT: "text/plain; charset=utf-8", wantMsg: "unknown path /v1/traces/x: OTLP/HTTP traces go to /v1/traces"},
		{name: "endpoint with the path appended", path: "/v1/traces/v1/traces", contentType: pb, body: pbBody, wantStatus: 404, wantCT: "text/plain; charset=utf-8", wantMsg: "OTEL_EXPORTER_OTLP_ENDPOINT is the base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			rec := &recorder{err: tt.consumerErr}
			h := NewHTTPHandler(tt.cfg, newDeps(rec, reg))

			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = PathTraces
			}
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req := httptest.NewRequest(method, path, body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			key, kh := tt.key, tt.keyHeader
			if key == "" {
				key = goodKey
			}
			if kh == "" {
				kh = "X-Honeycomb-Team"
			}
			if key != "-" {
				req.Header.Set(kh, key)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			resp := w.Result()
			got, _ := io.ReadAll(resp.Body)

			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.wantStatus, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			if ra := resp.Header.Get("Retry-After"); ra != tt.wantRetryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tt.wantRetryAfter)
			}
			stored := rec.events()
			if len(stored) != tt.wantEvents {
				t.Errorf("stored %d events, want %d", len(stored), tt.wantEvents)
			}
			if calls := rec.all(); tt.wantEvents > 0 && (len(calls) != 1 || calls[0].env != testEnv) {
				t.Errorf("want one Consume call for env %q, got %d calls", testEnv, len(calls))
			}
			code := fmt.Sprint(tt.wantStatus)
			if n := counter(t, reg, "tracecomb_otlp_requests_total", map[string]string{"transport": "http", "code": code}); n != 1 {
				t.Errorf("requests_total{code=%s} = %v, want 1", code, n)
			}

			switch {
			case tt.wantStatus == 200:
				checkSuccessBody(t, tt.wantCT, got, tt.wantRejected)
				if n := counter(t, reg, "tracecomb_otlp_spans_rejected_total", nil); n != float64(tt.wantRejected) {
					t.Errorf("spans_rejected_total = %v, want %d", n, tt.wantRejected)
				}
			case strings.HasPrefix(tt.wantCT, "text/plain"):
				if !strings.Contains(string(got), tt.wantMsg) {
					t.Errorf("body %q, want it to contain %q", got, tt.wantMsg)
				}
				if tt.wantStatus == 415 && string(got) != msgUnsupportedType {
					t.Errorf("415 body %q, want exactly %q", got, msgUnsupportedType)
				}
			case tt.wantCT == js:
				var st struct{ Message string }
				dec := jsonStrict(got, &st)
				if dec != nil || !strings.Contains(st.Message, tt.wantMsg) {
					t.Errorf("JSON failure body %s (%v), want message containing %q", got, dec, tt.wantMsg)
				}
				if tt.wantStatus == 401 && string(got) != `{"message":"`+tt.wantMsg+`"}` {
					t.Errorf("401 body %s, want Honeycomb's exact shape", got)
				}
			default:
				var st statuspb.Status
				if err := proto.Unmarshal(got, &st); err != nil {
					t.Fatalf("failure body is not a google.rpc.Status: %v", err)
				}
				if !strings.Contains(st.Message, tt.wantMsg) || codes.Code(st.Code) != tt.wantCode {
					t.Errorf("Status{code %v, message %q}, want code %v and message containing %q", codes.Code(st.Code), st.Message, tt.wantCode, tt.wantMsg)
				}
			}
		})
	}
}

// jsonStrict decodes a google.rpc.Status in JSON with protojson, which
// rejects anything that is not one.
func jsonStrict(b []byte, dst *struct{ Message string }) error {
	var st statuspb.Status
	if err := protojson.Unmarshal(b, &st); err != nil {
		return err
	}
	dst.Message = st.Message
	return nil
}

func checkSuccessBody(t *testing.T, ct string, body []byte, wantRejected int64) {
	t.Helper()
	var resp coltracepb.ExportTraceServiceResponse
	if ct == "application/json" {
		if wantRejected == 0 && string(body) != "{}" {
			t.Errorf("JSON success body %q, want {}", body)
		}
		if err := protojson.Unmarshal(body, &resp); err != nil {
			t.Fatalf("JSON success body %q: %v", body, err)
		}
	} else if err := proto.Unmarshal(body, &resp); err != nil {
		t.Fatalf("protobuf success body: %v", err)
	}
	ps := resp.GetPartialSuccess()
	if wantRejected == 0 {
		if ps != nil {
			t.Errorf("partial_success set on full success: %v", ps)
		}
		return
	}
	if ps.GetRejectedSpans() != wantRejected || !strings.Contains(ps.GetErrorMessage(), "invalid") {
		t.Errorf("partial_success %v, want %d rejected with a message", ps, wantRejected)
	}
}

// TestHTTPMetricsShared registers the HTTP handler and the gRPC service on
// one registry, as the app does.
func TestHTTPMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	h := NewHTTPHandler(Config{}, newDeps(rec, reg))
	_ = NewHTTPHandler(Config{}, newDeps(rec, reg))
	jsonBody, _, _, _ := testBodies(t)
	req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.HeaderTeam, goodKey)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if n := counter(t, reg, "tracecomb_otlp_spans_received_total", map[string]string{"transport": "http"}); n != 3 {
		t.Errorf("spans_received_total = %v, want 3", n)
	}
	if n := counter(t, reg, "tracecomb_otlp_events_total", map[string]string{"transport": "http"}); n != 7 {
		t.Errorf("events_total = %v, want 7", n)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	bad := []Config{
		{MaxBodyBytes: -1, MaxDecompressedBytes: 10, RetryAfter: 1},
		{MaxBodyBytes: 100, MaxDecompressedBytes: 10, RetryAfter: 1},
		{MaxBodyBytes: 1, MaxDecompressedBytes: 10, RetryAfter: -1},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
	if got := (Config{MaxBodyBytes: 200 << 20}).withDefaults(); got.MaxDecompressedBytes != 200<<20 {
		t.Errorf("decompressed limit below body limit: %+v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("missing Consumer: want a panic")
		}
	}()
	NewHTTPHandler(Config{}, Deps{Auth: testAuth})
}

// TestAuthStoreFailing: a failing key store is retryable (503), not a 401,
// and nothing is stored.
func TestAuthStoreFailing(t *testing.T) {
	rec := &recorder{}
	broken := auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
		return auth.Principal{}, errors.New("key store unreachable")
	})
	h := NewHTTPHandler(Config{}, Deps{Auth: broken, Consumer: rec})
	_, pbBody, _, _ := testBodies(t)
	req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(pbBody))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set(auth.HeaderTeam, goodKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("status %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if len(rec.all()) != 0 {
		t.Error("consumer called although authentication failed")
	}
}

// TestRejectedLogged: a refused request leaves a warning in the server's
// log with its reason and remote address, rate-limited.
func TestRejectedLogged(t *testing.T) {
	var logs bytes.Buffer
	h := NewHTTPHandler(Config{}, Deps{
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Auth:     testAuth,
		Consumer: &recorder{},
	})
	_, pbBody, _, _ := testBodies(t)
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, PathTraces, bytes.NewReader(pbBody))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set(auth.HeaderTeam, "wrong-key")
		req.RemoteAddr = "198.51.100.7:4711"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", rec.Code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "rejected an OTLP request"); n != 1 {
		t.Fatalf("%d rejection lines for 3 rejections within the interval, want 1:\n%s", n, out)
	}
	for _, want := range []string{"remote=198.51.100.7:4711", "status=401", "transport=http", "reason="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
