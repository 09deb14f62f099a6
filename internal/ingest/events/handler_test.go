package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// harness is the handler wired to a real key registry and a real ingest
// batcher whose commits land in committed (the store's side of the
// boundary), failing with flushErr when set.
type harness struct {
	t       *testing.T
	mux     *http.ServeMux
	reg     *auth.Registry
	keys    map[string]string // role → secret
	batcher *ingest.Batcher
	metrics *prometheus.Registry
	logs    *syncBuffer

	mu        sync.Mutex
	committed []model.Event
	envs      []string
	flushErr  error
	gate      chan struct{} // when set, commits wait for it…
	entered   chan struct{} // …after saying so here
	datasets  map[string]bool
	depths    map[string]int // expand_json_depth by dataset (lower case); 0 for others
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, cfg Config, maxPending int) *harness {
	t.Helper()
	h := &harness{t: t, keys: map[string]string{}, metrics: prometheus.NewRegistry(), logs: &syncBuffer{}, datasets: map[string]bool{"existing": true}, depths: map[string]int{}}
	reg, err := auth.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.reg = reg
	for role, spec := range map[string]auth.KeySpec{
		"ingest":    {Env: "test", Name: "ingest", Kind: auth.KindIngest},
		"events":    {Env: "test", Name: "send only", Kind: auth.KindConfiguration, Access: []auth.Permission{auth.PermEvents}},
		"queries":   {Env: "test", Name: "read only", Kind: auth.KindConfiguration, Access: []auth.Permission{auth.PermQueries}},
		"revoked":   {Env: "test", Name: "revoked", Kind: auth.KindIngest},
		"otherenv":  {Env: "prod", Name: "prod ingest", Kind: auth.KindIngest},
		"configall": {Env: "test", Name: "every permission", Kind: auth.KindConfiguration},
	} {
		rec, secret, err := reg.CreateKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		h.keys[role] = secret
		if role == "revoked" {
			if err := reg.Revoke(rec.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.batcher = ingest.NewBatcher(ingest.BatcherConfig{MaxPendingEvents: maxPending}, h.flush, nil, nil)
	t.Cleanup(func() { h.batcher.Close(context.Background()) }) //nolint:errcheck // test teardown
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hd, err := NewHandler(cfg, Deps{
		Logger: logger, Metrics: h.metrics, Auth: reg, Consumer: h.batcher,
		DatasetExists: func(_ context.Context, env, ds string) (bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return env == "test" && h.datasets[strings.ToLower(ds)], nil
		},
		ExpandJSONDepth: func(_ context.Context, env, ds string) int {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.depths[strings.ToLower(ds)]
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.mux = http.NewServeMux()
	hd.Register(h.mux)
	return h
}

func (h *harness) flush(_ context.Context, groups []ingest.EnvEvents) error {
	h.mu.Lock()
	gate, entered, err := h.gate, h.entered, h.flushErr
	h.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range groups {
		h.committed = append(h.committed, g.Events...)
		for range g.Events {
			h.envs = append(h.envs, g.Env)
		}
	}
	return nil
}

func (h *harness) stored() []model.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]model.Event(nil), h.committed...)
}

// request is one call to the door.
type request struct {
	path    string
	key     string // a role of harness.keys, "" for none, or "raw:<key>"
	headers map[string]string
	body    []byte
	noLen   bool // send without Content-Length (chunked)
}

func (h *harness) do(r request) *httptest.ResponseRecorder {
	h.t.Helper()
	var body io.Reader = bytes.NewReader(r.body)
	if r.noLen {
		body = io.MultiReader(bytes.NewReader(r.body)) // hides the length
	}
	req := httptest.NewRequest(http.MethodPost, r.path, body)
	if r.noLen {
		req.ContentLength = -1
	}
	req.RemoteAddr = "192.0.2.7:41234"
	switch {
	case strings.HasPrefix(r.key, "raw:"):
		req.Header.Set("X-Honeycomb-Team", strings.TrimPrefix(r.key, "raw:"))
	case r.key != "":
		req.Header.Set("X-Honeycomb-Team", h.keys[r.key])
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, req)
	return rec
}

// answer renders a response for a golden file.
func answer(rec *httptest.ResponseRecorder) string {
	return fmt.Sprintf("status: %d\ncontent-type: %s\nretry-after: %s\nbody: %s\n",
		rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Retry-After"), strings.TrimSuffix(rec.Body.String(), "\n"))
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "answers", name+".golden"), []byte(got))
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b) //nolint:errcheck // bytes.Buffer
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

const threeEvents = `[{"data":{"n":1,"name":"a"},"time":"2026-05-25T11:59:00Z"},{"data":{"n":2},"samplerate":10},{"data":{"n":3}}]`

var jsonCT = map[string]string{"Content-Type": "application/json"}

func hdrs(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestHandlerAnswers runs every kind of request, good and bad, through the
// handler and checks Honeycomb's answer (golden files) and exactly what
// was committed.
func TestHandlerAnswers(t *testing.T) {
	threeMsgpack := mustMsgpack(t, []map[string]any{
		{"data": map[string]any{"n": 1, "name": "a"}, "time": time.Date(2026, 5, 25, 11, 59, 0, 0, time.UTC)},
		{"data": map[string]any{"n": 2}, "samplerate": 10},
		{"data": map[string]any{"n": 3}},
	})
	big := []byte(`[{"data":{"s":"` + strings.Repeat("x", 5_000_000) + `"}}]`)
	cases := []struct {
		name   string
		req    request
		stored int // events committed
	}{
		{"batch_json", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(threeEvents)}, 3},
		{"batch_json_zstd", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Type", "application/json", "Content-Encoding", "zstd"), body: zst(t, []byte(threeEvents))}, 3},
		{"batch_msgpack_gzip", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Type", "application/msgpack", "Content-Encoding", "gzip"), body: gz(t, threeMsgpack)}, 3},
		{"batch_x_msgpack", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Type", "application/x-msgpack"), body: threeMsgpack}, 3},
		{"batch_one_bad_event", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`[{"data":{"n":1}},{"data":"oops"},{"data":{"n":3}},{"data":{"n":4},"samplerate":"ten"}]`)}, 2},
		{"batch_all_bad", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`[{"data":{}},7]`)}, 0},
		{"batch_not_array", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`{"data":{"n":1}}`)}, 0},
		{"batch_wrong_json_types", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`[{"data":{"n":1},"time":true,"samplerate":[10]}]`)}, 0},
		{"batch_broken_json", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`[{"data":{"n":1}},{"data":`)}, 0},
		{"batch_broken_msgpack", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Type", "application/msgpack"), body: threeMsgpack[:len(threeMsgpack)-3]}, 0},
		{"batch_invalid_gzip", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Encoding", "gzip"), body: []byte(threeEvents)}, 0},
		{"batch_invalid_zstd", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Encoding", "zstd"), body: gz(t, []byte(threeEvents))}, 0},
		{"batch_unknown_encoding", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Encoding", "br"), body: []byte(threeEvents)}, 0},
		{"batch_empty", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT}, 0},
		{"batch_empty_array", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte(`[]`)}, 0},
		{"batch_too_large", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: big}, 0},
		{"batch_too_large_chunked", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: big, noLen: true}, 0},
		{"batch_compressed_bomb", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Encoding", "gzip"), body: gz(t, bytes.Repeat([]byte(" "), 11<<20))}, 0},
		{"batch_too_many_events", request{path: "/1/batch/ds", key: "ingest", headers: jsonCT, body: []byte("[" + strings.Repeat(`{"data":{"n":1}},`, 100_000) + `{"data":{"n":1}}]`)}, 0},
		{"batch_protobuf_content_type", request{path: "/1/batch/ds", key: "ingest", headers: hdrs("Content-Type", "application/x-protobuf"), body: []byte("\x0a\x0b\x12\x09\x0a\x07backend")}, 0},
		{"event_json", request{path: "/1/events/ds", key: "ingest", headers: hdrs("Content-Type", "application/json", HeaderEventTime, "1779710340", HeaderSampleRate, "4"), body: []byte(`{"method":"GET","duration_ms":32}`)}, 1},
		{"event_curl_default_content_type", request{path: "/1/events/ds", key: "ingest", headers: hdrs("Content-Type", "application/x-www-form-urlencoded"), body: []byte(`{"method":"GET"}`)}, 1},
		{"event_msgpack_zstd", request{path: "/1/events/ds", key: "ingest", headers: hdrs("Content-Type", "application/msgpack", "Content-Encoding", "zstd"), body: zst(t, mustMsgpack(t, map[string]any{"method": "GET"}))}, 1},
		{"event_array", request{path: "/1/events/ds", key: "ingest", headers: jsonCT, body: []byte(`[{"method":"GET"}]`)}, 0},
		{"event_empty_object", request{path: "/1/events/ds", key: "ingest", headers: jsonCT, body: []byte(`{}`)}, 0},
		{"event_too_large", request{path: "/1/events/ds", key: "ingest", headers: jsonCT, body: []byte(`{"s":"` + strings.Repeat("x", 1_000_000) + `"}`)}, 0},
		{"event_too_large_uncompressed", request{path: "/1/events/ds", key: "ingest", headers: hdrs("Content-Encoding", "gzip"), body: gz(t, []byte(`{"s":"`+strings.Repeat("x", 1_000_000)+`"}`))}, 0},
		{"event_too_many_columns", request{path: "/1/events/ds", key: "ingest", headers: jsonCT, body: manyFields(2001)}, 0},
		{"no_key", request{path: "/1/batch/ds", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"unknown_key", request{path: "/1/batch/ds", key: "raw:hcaik_01unknown0000000000000000000000000000000000000000000000000", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"revoked_key", request{path: "/1/batch/ds", key: "revoked", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"key_without_events", request{path: "/1/events/ds", key: "queries", headers: jsonCT, body: []byte(`{"n":1}`)}, 0},
		{"key_with_every_permission", request{path: "/1/events/ds", key: "configall", headers: jsonCT, body: []byte(`{"n":1}`)}, 1},
		{"key_cannot_create_dataset", request{path: "/1/batch/new-dataset", key: "events", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"key_cannot_create_existing_dataset", request{path: "/1/batch/EXISTING", key: "events", headers: jsonCT, body: []byte(threeEvents)}, 3},
		{"dataset_encoded_slash", request{path: "/1/batch/a%2Fb", key: "ingest", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"dataset_too_long", request{path: "/1/batch/" + strings.Repeat("d", 256), key: "ingest", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"dataset_control_character", request{path: "/1/batch/a%00b", key: "ingest", headers: jsonCT, body: []byte(threeEvents)}, 0},
		{"dataset_all", request{path: "/1/batch/__all__", key: "ingest", headers: jsonCT, body: []byte(threeEvents)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxDecompressedBytes = 10 << 20
			h := newHarness(t, cfg, 0)
			rec := h.do(tc.req)
			checkGolden(t, tc.name, answer(rec))
			if got := len(h.stored()); got != tc.stored {
				t.Errorf("%d events committed, want %d", got, tc.stored)
			}
			if rec.Code >= 400 {
				logs := h.logs.String()
				if !strings.Contains(logs, "rejected a Honeycomb Events API request") || !strings.Contains(logs, "remote=192.0.2.7:41234") || !strings.Contains(logs, "reason=") {
					t.Errorf("refusal not logged with its reason and address:\n%s", logs)
				}
			}
		})
	}
}

func manyFields(n int) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"f%d":%d`, i, i)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// What a good request stores: dataset as escaped in the path, the key's
// environment, times, sample rates, fields; and the metrics.
func TestHandlerStores(t *testing.T) {
	h := newHarness(t, Config{}, 0)
	rec := h.do(request{path: "/1/batch/My%20Dataset", key: "ingest", headers: jsonCT, body: []byte(threeEvents)})
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = h.do(request{path: "/1/events/My%20Dataset", key: "otherenv", headers: hdrs(HeaderEventTime, "2026-05-25T11:00:00Z", HeaderSampleRate, "7"), body: []byte(`{"method":"GET"}`)})
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	evs := h.stored()
	if len(evs) != 4 {
		t.Fatalf("%d events", len(evs))
	}
	h.mu.Lock()
	envs := append([]string(nil), h.envs...)
	h.mu.Unlock()
	want := []struct {
		env  string
		time time.Time
		rate int64
	}{
		{"test", time.Date(2026, 5, 25, 11, 59, 0, 0, time.UTC), 1},
		{"test", now, 10},
		{"test", now, 1},
		{"prod", time.Date(2026, 5, 25, 11, 0, 0, 0, time.UTC), 7},
	}
	for i, w := range want {
		e := evs[i]
		if envs[i] != w.env || e.Dataset != "My Dataset" || e.Source != model.SourceEvents || !e.Time.Equal(w.time) || e.SampleRate != w.rate {
			t.Errorf("event %d: env %s dataset %q source %v time %v rate %d", i, envs[i], e.Dataset, e.Source, e.Time, e.SampleRate)
		}
	}
	if evs[0].Name != "a" {
		t.Errorf("name %q", evs[0].Name)
	}
	for name, want := range map[string]float64{
		"tracecomb_events_api_events_received_total": 4,
		"tracecomb_events_api_events_stored_total":   4,
		"tracecomb_events_api_events_rejected_total": 0,
	} {
		if got := testutil.ToFloat64(sumOf(t, h.metrics, name)); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	rec = h.do(request{path: "/1/batch/ds", key: "ingest", body: []byte(`[{"data":{"n":1}},{"data":5}]`)})
	if rec.Code != 200 || rec.Body.String() != `[{"status":202},{"status":400,"error":"Request body is malformed and cannot be read."}]` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got := testutil.ToFloat64(sumOf(t, h.metrics, "tracecomb_events_api_events_rejected_total")); got != 1 {
		t.Errorf("rejected = %v", got)
	}
	if !strings.Contains(h.logs.String(), "rejected events of a Honeycomb batch") {
		t.Errorf("per-event rejection not logged:\n%s", h.logs)
	}
}

// sumOf is a gauge of the sum of every series of a counter family.
func sumOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sum"}, func() float64 { return sum })
}

// Overload and store failures are retryable answers; a store's permanent
// refusal is a 400; nothing is committed.
func TestHandlerRetryable(t *testing.T) {
	t.Run("overloaded", func(t *testing.T) {
		h := newHarness(t, Config{}, 3)
		gate, entered := make(chan struct{}), make(chan struct{}, 1)
		h.mu.Lock()
		h.gate, h.entered = gate, entered
		h.mu.Unlock()
		first := make(chan *httptest.ResponseRecorder)
		go func() {
			first <- h.do(request{path: "/1/batch/ds", key: "ingest", body: []byte(threeEvents)})
		}()
		<-entered
		// The first request's 3 events are pending while their commit
		// waits: one more is over MaxPendingEvents.
		rec := h.do(request{path: "/1/events/ds", key: "ingest", body: []byte(`{"n":1}`)})
		checkGolden(t, "overloaded", answer(rec))
		close(gate)
		if r := <-first; r.Code != 200 {
			t.Fatalf("first request: %d %s", r.Code, r.Body)
		}
	})
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"store_failed", errors.New("disk full")},
		{"store_refused", ingest.Permanentf("event refused by the store")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, 0)
			h.mu.Lock()
			h.flushErr = tc.err
			h.mu.Unlock()
			checkGolden(t, tc.name, answer(h.do(request{path: "/1/batch/ds", key: "ingest", body: []byte(threeEvents)})))
			if len(h.stored()) != 0 {
				t.Fatal("stored")
			}
		})
	}
	t.Run("shutting_down", func(t *testing.T) {
		h := newHarness(t, Config{}, 0)
		if err := h.batcher.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "shutting_down", answer(h.do(request{path: "/1/batch/ds", key: "ingest", body: []byte(threeEvents)})))
	})
}

// The dataset's expand_json_depth comes from Deps.ExpandJSONDepth: nested
// objects become dotted fields to that depth, deeper ones JSON text.
func TestHandlerExpandJSONDepth(t *testing.T) {
	h := newHarness(t, Config{}, 0)
	h.mu.Lock()
	h.depths["deep"] = 2
	h.mu.Unlock()
	const body = `[{"data":{"req":{"headers":{"host":{"name":"x"}},"method":"GET"}}}]`
	for _, ds := range []string{"flat", "Deep"} {
		if rec := h.do(request{path: "/1/batch/" + ds, key: "ingest", body: []byte(body)}); rec.Code != 200 {
			t.Fatalf("%s: %d %s", ds, rec.Code, rec.Body)
		}
	}
	evs := h.stored()
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	if got, want := fields(&evs[0]), map[string]any{"req": `{"headers":{"host":{"name":"x"}},"method":"GET"}`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("depth 0: %v", got)
	}
	if got, want := fields(&evs[1]), map[string]any{"req.headers.host": `{"name":"x"}`, "req.method": "GET"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("depth 2: %v", got)
	}
}
