package loadgen

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/tracecomb/tracecomb/examples/cruddur/internal/backend"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newBackend serves the real backend, its spans recorded in memory and its
// segments sent to a UDP socket nobody reads.
func newBackend(t *testing.T) (*httptest.Server, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	strategy, err := sampling.NewLocalizedStrategy()
	if err != nil {
		t.Fatal(err)
	}
	xctx, err := backend.XRayContext(sink.LocalAddr().String(), strategy)
	if err != nil {
		t.Fatal(err)
	}
	srv := backend.NewServer(backend.Config{XRayServiceName: backend.XRayServiceName}, slog.New(slog.DiscardHandler),
		backend.Telemetry{TracerProvider: tp, Propagator: backend.Propagator(), XRay: xctx}, "")
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		sink.Close()
	})
	return ts, rec
}

func TestClosedLoopSendsTheMix(t *testing.T) {
	ts, rec := newBackend(t)
	mix := DefaultMix()
	total := 0
	for _, r := range mix {
		total += r.Weight
	}
	cfg := Config{BaseURL: ts.URL, Concurrency: 3, Requests: 2 * total, Timeout: 10 * time.Second}
	rep, err := Run(t.Context(), cfg, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 2*total || rep.Errors != 0 || rep.Missed != 0 {
		t.Fatalf("sent %d errors %d missed %d, want %d 0 0", rep.Sent, rep.Errors, rep.Missed, 2*total)
	}
	// Two full rounds of the schedule: each request exactly twice its weight.
	want := map[string]map[string]int{
		"GET /api/activities/home":          {"200": 60},
		"GET /api/activities/notifications": {"200": 10},
		"GET /api/activities/{handle}":      {"200": 30, "404": 4},
		"GET /api/activities/search":        {"200": 10},
		"POST /api/activities":              {"200": 10, "422": 4},
		"POST /api/activities/{uuid}/reply": {"200": 6},
		"GET /api/message_groups":           {"200": 10},
		"GET /api/messages/{handle}":        {"200": 10},
		"POST /api/messages":                {"200": 6},
	}
	got, _ := json.Marshal(rep.Counts)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("counts\n got %s\nwant %s", got, exp)
	}
	// The backend traced every request (server spans plus home's custom span).
	if n := len(rec.Ended()); n < rep.Sent {
		t.Errorf("%d spans for %d requests", n, rep.Sent)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	for _, s := range []string{"sent 160 requests", "GET /api/activities/{handle}", "200:30 404:4", "all"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	if l := rep.Latency["all"]; l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
		t.Errorf("percentiles out of order: %+v", l)
	}
	out.Reset()
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back["sent"] != float64(160) {
		t.Errorf("JSON report %v: %s", err, out.String())
	}
}

func TestOpenLoopKeepsTheRate(t *testing.T) {
	ts, _ := newBackend(t)
	cfg := Config{BaseURL: ts.URL, Rate: 200, Concurrency: 2, Duration: 250 * time.Millisecond}
	rep, err := Run(t.Context(), cfg, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	// Requests are due at i/rate for i/rate < duration: at most 50.
	if rep.Sent+rep.Missed > 50 || rep.Sent == 0 {
		t.Errorf("sent %d + missed %d, want at most 50 and some sent", rep.Sent, rep.Missed)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{BaseURL: "http://x", Concurrency: 1, Duration: time.Second}, ""},
		{"bad url", Config{BaseURL: "x", Concurrency: 1, Duration: time.Second}, "not http(s)"},
		{"no workers", Config{BaseURL: "http://x", Duration: time.Second}, "concurrency"},
		{"negative rate", Config{BaseURL: "http://x", Concurrency: 1, Rate: -1, Duration: time.Second}, "rate"},
		{"endless", Config{BaseURL: "http://x", Concurrency: 1}, "duration or a number"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Percentiles
	}{
		{"empty", nil, Percentiles{}},
		{"one", ms(7), Percentiles{7, 7, 7, 7}},
		{"1..100 reversed", ms(hundred...), Percentiles{50, 90, 99, 100}},
		{"two", ms(10, 20), Percentiles{10, 20, 20, 20}},
	}
	for _, tt := range tests {
		if got := percentiles(tt.in); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	mix := []Request{{Weight: 3}, {Weight: 1}, {Weight: 0}, {Weight: 2}}
	got := schedule(mix)
	want := []int{0, 1, 3, 0, 3, 0}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func BenchmarkPercentiles(b *testing.B) {
	ds := make([]time.Duration, 10000)
	for i := range ds {
		ds[i] = time.Duration((i * 7919) % 10007)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = percentiles(ds)
	}
}
