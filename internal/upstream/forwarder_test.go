package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	xrayapi "github.com/tracecomb/tracecomb/internal/api/xray"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// fakeHoneycomb is a stand-in for Honeycomb's Events API /1/batch (the
// app's tests use a real tracecomb server instead): it checks what
// Honeycomb checks — the X-Honeycomb-Team key (401), the body's size
// (413 over 5,000,000 bytes), a JSON array of objects each with a "data"
// object (400), each event's size (a per-event 400 over 1,000,000 bytes)
// — and answers per-event statuses. failFirst requests get failStatus.
type fakeHoneycomb struct {
	key string

	mu         sync.Mutex
	failFirst  int
	failStatus int
	retryAfter string
	requests   int
	events     []fakeEvent
	// rejectField: an event with this field gets a per-event 400.
	rejectField string
	// retryField: an event with this field gets a per-event 503 once.
	retryField string
	retried    map[string]bool
}

type fakeEvent struct {
	Dataset    string
	Data       map[string]any
	Time       string
	SampleRate int64
}

func (h *fakeHoneycomb) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	dataset, ok := strings.CutPrefix(r.URL.Path, "/1/batch/")
	if r.Method != http.MethodPost || !ok || dataset == "" {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if r.Header.Get("X-Honeycomb-Team") != h.key {
		http.Error(w, `{"error":"unknown API key - check your credentials, region, and API URL"}`, http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, HoneycombMaxBatchBytes+1))
	if len(body) > HoneycombMaxBatchBytes {
		http.Error(w, `{"error":"request body is too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	if h.failFirst > 0 {
		h.failFirst--
		if h.retryAfter != "" {
			w.Header().Set("Retry-After", h.retryAfter)
		}
		http.Error(w, `{"error":"try later"}`, h.failStatus)
		return
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		http.Error(w, `{"error":"request body should be a JSON array"}`, http.StatusBadRequest)
		return
	}
	type status struct {
		Status int    `json:"status"`
		Error  string `json:"error,omitempty"`
	}
	out := make([]status, len(raw))
	for i, m := range raw {
		var ev struct {
			Data       map[string]any `json:"data"`
			Time       string         `json:"time"`
			SampleRate int64          `json:"samplerate"`
		}
		switch {
		case len(m) > HoneycombMaxEventBytes:
			out[i] = status{400, "event exceeds max event size of 1000000 bytes"}
		case json.Unmarshal(m, &ev) != nil || ev.Data == nil:
			out[i] = status{400, "event has no data"}
		case h.rejectField != "" && ev.Data[h.rejectField] != nil:
			out[i] = status{400, "rejected"}
		case h.retryField != "" && ev.Data[h.retryField] != nil && !h.retried[fmt.Sprint(ev.Data["n"])]:
			if h.retried == nil {
				h.retried = map[string]bool{}
			}
			h.retried[fmt.Sprint(ev.Data["n"])] = true
			out[i] = status{503, "try again"}
		default:
			out[i] = status{Status: 202}
			h.events = append(h.events, fakeEvent{Dataset: dataset, Data: ev.Data, Time: ev.Time, SampleRate: ev.SampleRate})
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (h *fakeHoneycomb) got() []fakeEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fakeEvent(nil), h.events...)
}

func testEvents(n int, dataset string, extra ...model.Attr) []model.Event {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	evs := make([]model.Event, n)
	for i := range evs {
		evs[i] = model.Event{
			Dataset: dataset, Time: t0.Add(time.Duration(i) * time.Millisecond), Source: model.SourceEvents,
			TraceID: model.TraceID{1, byte(i >> 8), byte(i)}, SpanID: model.SpanID{2, byte(i >> 8), byte(i)},
			Name: "op", ServiceName: dataset, DurationMs: 1.5, SampleRate: 1,
			Attrs: append([]model.Attr{{Key: "n", Value: model.Int(int64(i))}, {Key: "http.route", Value: model.Str("/a \"b\"")}}, extra...),
		}
	}
	return evs
}

// sink is an inner consumer that stores nothing and answers err.
type sink struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (s *sink) Consume(_ context.Context, _ string, _ []model.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.err
}

func newHoneycombForwarder(t testing.TB, dir, url, key string, reg prometheus.Registerer) *Forwarder {
	t.Helper()
	f, err := New(context.Background(), Config{Target: TargetHoneycomb, Dir: dir, MaxQueueBytes: 8 << 20,
		HoneycombURL: url, HoneycombKey: key, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, RequestTimeout: 5 * time.Second},
		Settings{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func closeNow(t testing.TB, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestForwardHoneycombKeepsEveryFieldAndDataset(t *testing.T) {
	hc := &fakeHoneycomb{key: "hc-key"}
	srv := httptest.NewServer(hc)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "hc-key", reg)
	c := f.Wrap(&sink{})
	a := testEvents(3, "frontend")
	a[1].SampleRate = 10
	a[2].Error = true
	if err := c.Consume(context.Background(), "prod", a); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume(context.Background(), "test", testEvents(2, "my dataset/x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 events", func() bool { return len(hc.got()) == 5 })
	waitFor(t, "no lag", func() bool { return testutil.ToFloat64(f.m.lag) == 0 })
	got := hc.got()
	want0 := map[string]any{"trace.trace_id": "01000000000000000000000000000000", "trace.span_id": "0200000000000000", "name": "op",
		"service.name": "frontend", "duration_ms": 1.5, "status_code": float64(0), "n": float64(0), "http.route": "/a \"b\""}
	if got[0].Dataset != "frontend" || fmt.Sprint(got[0].Data) != fmt.Sprint(want0) || got[0].Time != "2026-12-07T10:00:00.123456789Z" {
		t.Fatalf("first event: %+v\nwant data %v", got[0], want0)
	}
	if got[1].SampleRate != 10 || got[2].Data["error"] != true {
		t.Fatalf("samplerate / error: %+v %+v", got[1], got[2])
	}
	if got[3].Dataset != "my dataset/x" {
		t.Fatalf("dataset name: %q", got[3].Dataset)
	}
	closeNow(t, f)
	if n := testutil.ToFloat64(f.m.sent); n != 5 {
		t.Fatalf("sent metric %v", n)
	}
	if n := testutil.ToFloat64(f.m.enqueued); n != 5 {
		t.Fatalf("enqueued metric %v", n)
	}
	if n, err := testutil.GatherAndCount(reg, "tracecomb_forward_queued_bytes", "tracecomb_forward_lag_seconds", "tracecomb_forward_dropped_events_total"); err != nil || n < 3 {
		t.Fatalf("metrics on the registry: %d %v", n, err)
	}
}

func TestForwardRetriesRetryableFailuresOnce(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		reason     string
	}{{503, "", "status_5xx"}, {429, "1", "status_429"}, {500, "", "status_5xx"}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			hc := &fakeHoneycomb{key: "k", failFirst: 3, failStatus: tc.status, retryAfter: tc.retryAfter}
			srv := httptest.NewServer(hc)
			defer srv.Close()
			f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "k", nil)
			if err := f.Wrap(&sink{}).Consume(context.Background(), "e", testEvents(4, "d")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "delivery after 3 failures", func() bool { return len(hc.got()) == 4 })
			closeNow(t, f)
			if n := testutil.ToFloat64(f.m.retries.WithLabelValues(tc.reason)); n != 12 {
				t.Fatalf("retries{%s} = %v, want 12 (3 attempts of 4 events)", tc.reason, n)
			}
			if n := len(hc.got()); n != 4 {
				t.Fatalf("%d events delivered, want each once", n)
			}
		})
	}
}

func TestForwardRetriesTheEventsAnsweredRetryable(t *testing.T) {
	hc := &fakeHoneycomb{key: "k", retryField: "again", rejectField: "bad"}
	srv := httptest.NewServer(hc)
	defer srv.Close()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "k", nil)
	evs := testEvents(5, "d")
	evs[1].Attrs = append(evs[1].Attrs, model.Attr{Key: "again", Value: model.Bool(true)})
	evs[3].Attrs = append(evs[3].Attrs, model.Attr{Key: "bad", Value: model.Bool(true)})
	if err := f.Wrap(&sink{}).Consume(context.Background(), "e", evs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "4 accepted", func() bool { return len(hc.got()) == 4 })
	closeNow(t, f)
	if n := testutil.ToFloat64(f.m.dropped.WithLabelValues("event_rejected")); n != 1 {
		t.Fatalf("event_rejected = %v", n)
	}
	if n := testutil.ToFloat64(f.m.retries.WithLabelValues("partial")); n != 1 {
		t.Fatalf("partial retries = %v", n)
	}
	if n := testutil.ToFloat64(f.m.sent); n != 4 {
		t.Fatalf("sent = %v", n)
	}
}

func TestForwardDropsWhatTheTargetRefusesForGood(t *testing.T) {
	hc := &fakeHoneycomb{key: "right"}
	srv := httptest.NewServer(hc)
	defer srv.Close()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "wrong", nil)
	if err := f.Wrap(&sink{}).Consume(context.Background(), "e", testEvents(3, "d")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 401 counted", func() bool { return testutil.ToFloat64(f.m.dropped.WithLabelValues("rejected")) == 3 })
	waitFor(t, "the queue emptied", func() bool { _, n := f.Stats(); return n == 0 })
	closeNow(t, f)
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.requests != 1 {
		t.Fatalf("%d requests; a 401 is not retried", hc.requests)
	}
}

// TestForwardOneDatasetRefusedDropsOnlyIt: a dataset the target refuses
// (404 for it alone) loses only its own events, counted; the other
// datasets of the same batch are delivered.
func TestForwardOneDatasetRefusedDropsOnlyIt(t *testing.T) {
	hc := &fakeHoneycomb{key: "k"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/refused") {
			http.Error(w, `{"error":"dataset not found"}`, http.StatusNotFound)
			return
		}
		hc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	// Queued while the target is down, so that one batch holds them all.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	dir := t.TempDir()
	f := newHoneycombForwarder(t, dir, down.URL, "k", nil)
	c := f.Wrap(&sink{})
	for _, ds := range []string{"refused", "kept", "refused", "also-kept"} {
		if err := c.Consume(context.Background(), "e", testEvents(3, ds)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f = newHoneycombForwarder(t, dir, srv.URL, "k", nil)
	waitFor(t, "6 events", func() bool { return len(hc.got()) == 6 })
	waitFor(t, "the queue emptied", func() bool { _, n := f.Stats(); return n == 0 })
	closeNow(t, f)
	if n := testutil.ToFloat64(f.m.dropped.WithLabelValues("rejected")); n != 6 {
		t.Fatalf("rejected = %v, want the 6 events of the refused dataset", n)
	}
}

func TestForwardOnlyWhatWasStored(t *testing.T) {
	hc := &fakeHoneycomb{key: "k"}
	srv := httptest.NewServer(hc)
	defer srv.Close()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "k", nil)
	defer closeNow(t, f)

	// The store failed: nothing is durable, nothing is forwarded.
	failing := f.Wrap(&sink{err: ingest.ErrOverloaded})
	if err := failing.Consume(context.Background(), "e", testEvents(2, "d")); !errors.Is(err, ingest.ErrOverloaded) {
		t.Fatalf("the inner error is returned: %v", err)
	}
	// The store refused event 1: the others are forwarded.
	refused := &ingest.RefusedError{Refused: []ingest.Refusal{{Index: 1, Err: errors.New("too many columns")}}, Total: 3}
	partial := f.Wrap(&sink{err: refused})
	evs := testEvents(3, "d")
	if err := partial.Consume(context.Background(), "e", evs); ingest.Refused(err) == nil {
		t.Fatalf("the refusal is returned: %v", err)
	}
	waitFor(t, "2 events", func() bool { return len(hc.got()) == 2 })
	time.Sleep(50 * time.Millisecond)
	got := hc.got()
	if len(got) != 2 || got[0].Data["n"] != float64(0) || got[1].Data["n"] != float64(2) {
		t.Fatalf("forwarded %+v; want events 0 and 2", got)
	}
}

func TestForwardQueueFullDropsOldestAndCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f, err := New(context.Background(), Config{Target: TargetHoneycomb, Dir: t.TempDir(), MaxQueueBytes: MinMaxQueueBytes,
		HoneycombURL: srv.URL, HoneycombKey: "k", MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, f)
	pad := model.Attr{Key: "pad", Value: model.Str(strings.Repeat("p", 2000))}
	c := f.Wrap(&sink{})
	for range 20 { // about 4 MB into 2 MB
		if err := c.Consume(context.Background(), "e", testEvents(100, "d", pad)); err != nil {
			t.Fatal(err)
		}
	}
	b, left := f.Stats()
	dropped := testutil.ToFloat64(f.m.dropped.WithLabelValues("queue_full"))
	if b > MinMaxQueueBytes || dropped == 0 || int(dropped)+left != 2000 {
		t.Fatalf("queued %d bytes (bound %d), %d events left, %v dropped", b, MinMaxQueueBytes, left, dropped)
	}
}

func TestForwardCloseLeavesTheRestForTheNextStart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		down        http.HandlerFunc
		redelivered float64
	}{
		// An error status: the target took nothing, nothing is sent twice.
		{"status", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }, 0},
		// No answer before the stop: the target may have taken the batch,
		// which the next start sends again and counts.
		{"no answer", func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body); <-r.Context().Done() }, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			down := httptest.NewServer(tc.down)
			f := newHoneycombForwarder(t, dir, down.URL, "k", nil)
			if err := f.Wrap(&sink{}).Consume(context.Background(), "e", testEvents(7, "d")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := f.Close(ctx); err != nil {
				t.Fatal(err)
			}
			down.CloseClientConnections()
			down.Close()

			hc := &fakeHoneycomb{key: "k"}
			up := httptest.NewServer(hc)
			defer up.Close()
			f2 := newHoneycombForwarder(t, dir, up.URL, "k", nil)
			waitFor(t, "the 7 events of the last run", func() bool { return len(hc.got()) == 7 })
			closeNow(t, f2)
			if n := testutil.ToFloat64(f2.m.redelivered); n != tc.redelivered {
				t.Fatalf("redelivered = %v, want %v", n, tc.redelivered)
			}
			if n := len(hc.got()); n != 7 {
				t.Fatalf("%d events after the restart, want 7", n)
			}
		})
	}
}

// TestForwardCloseGivesUpOnAFailingTarget: without a deadline, Close
// still returns once the target failed drainAttempts times in a row, and
// leaves the events queued.
func TestForwardCloseGivesUpOnAFailingTarget(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "k", nil)
	if err := f.Wrap(&sink{}).Consume(context.Background(), "e", testEvents(5, "d")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a lag", func() bool { return testutil.ToFloat64(f.m.lag) > 0 })
	if b := testutil.ToFloat64(f.m.queuedBytes); b <= 0 {
		t.Fatalf("queued bytes %v with 5 events waiting", b)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, n := f.Stats(); n != 5 {
		t.Fatalf("%d events left queued, want 5", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests < drainAttempts {
		t.Fatalf("%d requests before giving up, want at least %d", requests, drainAttempts)
	}
}

func TestForwardCloseFlushes(t *testing.T) {
	hc := &fakeHoneycomb{key: "k", failFirst: 2, failStatus: 503}
	srv := httptest.NewServer(hc)
	defer srv.Close()
	f := newHoneycombForwarder(t, t.TempDir(), srv.URL, "k", nil)
	if err := f.Wrap(&sink{}).Consume(context.Background(), "e", testEvents(3000, "d")); err != nil {
		t.Fatal(err)
	}
	closeNow(t, f)
	if n := len(hc.got()); n != 3000 {
		t.Fatalf("Close left %d of 3000 events unsent with the target up", 3000-n)
	}
}

// fakeXRay is a stand-in for X-Ray's PutTraceSegments: tracecomb's own
// SigV4 verification (internal/api/xray, which recomputes the signature
// with the AWS SDK's signer) in front of a handler that checks what X-Ray
// checks of the call: at most 50 documents, each at most 64 kB and a JSON
// object with an id; a document whose name is "refuse-me" is answered as
// an UnprocessedTraceSegment.
type fakeXRay struct {
	mu    sync.Mutex
	calls int
	docs  []string
}

type staticCreds map[string]string

func (c staticCreds) Lookup(id string) (string, string, bool) {
	s, ok := c[id]
	return s, "test", ok
}

func (x *fakeXRay) handler(t testing.TB) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/TraceSegments" {
			http.Error(w, "unknown operation", http.StatusNotFound)
			return
		}
		var in struct{ TraceSegmentDocuments []string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.TraceSegmentDocuments) > xrayMaxBatchDocs {
			w.Header().Set("X-Amzn-ErrorType", "InvalidRequestException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"message":"bad request"}`)
			return
		}
		type unprocessed struct{ Id, ErrorCode, Message string }
		out := struct{ UnprocessedTraceSegments []unprocessed }{[]unprocessed{}}
		x.mu.Lock()
		defer x.mu.Unlock()
		x.calls++
		for _, d := range in.TraceSegmentDocuments {
			var doc struct{ ID, Name string }
			switch {
			case len(d) > XRayMaxDocumentBytes:
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessed{ErrorCode: "DocumentTooLarge", Message: "too large"})
			case json.Unmarshal([]byte(d), &doc) != nil || doc.ID == "":
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessed{ErrorCode: "InvalidDocument", Message: "Invalid segment"})
			case doc.Name == "refuse-me":
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, unprocessed{Id: doc.ID, ErrorCode: "InvalidSegment", Message: "refused"})
			default:
				x.docs = append(x.docs, d)
			}
		}
		json.NewEncoder(w).Encode(out)
	})
	signed, err := xrayapi.SigV4(xrayapi.SigV4Config{Credentials: staticCreds{"AKIDTRACECOMBTEST": "secret-of-the-test"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func (x *fakeXRay) got() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.docs...)
}

func newXRayForwarder(t testing.TB, endpoint string) *Forwarder {
	t.Helper()
	f, err := New(context.Background(), Config{Target: TargetXRay, Dir: t.TempDir(), MaxQueueBytes: 8 << 20,
		XRayRegion: "eu-west-1", XRayEndpoint: endpoint, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func xrayEvents() []model.Event {
	tid := model.TraceID{0x5f, 0x84, 0xc7, 0xa1, 0xaa, 0xbb}
	seg := model.SpanID{0x70, 0xde, 0x5b, 0x6f, 0x19, 0xff, 0x9a, 0x0a}
	sub := model.SpanID{0x70, 0xde, 0x5b, 0x6f, 0x19, 0xff, 0x9a, 0x0b}
	t0 := time.Unix(1_765_000_000, 0)
	return []model.Event{
		{Dataset: "backend", Time: t0, Source: model.SourceXRay, TraceID: tid, SpanID: seg, SpanKind: "server", Name: "backend", ServiceName: "backend",
			Doc: []byte(`{"name":"backend","id":"70de5b6f19ff9a0a","trace_id":"1-5f84c7a1-aabb00000000000000000000","start_time":1765000000,"end_time":1765000000.2}`)},
		{Dataset: "backend", Time: t0, Source: model.SourceXRay, TraceID: tid, SpanID: sub, ParentID: seg, SpanKind: "client", Name: "api.example.com", ServiceName: "backend",
			Doc: []byte(`{"name":"api.example.com","id":"70de5b6f19ff9a0b","namespace":"remote","start_time":1765000000.05,"end_time":1765000000.1}`)},
		// An OTLP span sent to X-Ray's OTLP endpoint: no document of its own.
		{Dataset: "worker", Time: t0, Source: model.SourceOTLP, TraceID: model.TraceID{9}, SpanID: model.SpanID{9, 1}, SpanKind: "server", Name: "GET /jobs", ServiceName: "worker", DurationMs: 12},
	}
}

func TestForwardXRaySignedDocuments(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTRACECOMBTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-of-the-test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	x := &fakeXRay{}
	srv := httptest.NewServer(x.handler(t))
	defer srv.Close()
	f := newXRayForwarder(t, srv.URL)
	evs := xrayEvents()
	evs = append(evs, model.Event{Dataset: "backend", Time: time.Unix(1_765_000_000, 0), Source: model.SourceXRay, TraceID: evs[0].TraceID, SpanID: model.SpanID{1}, SpanKind: "server",
		Doc: []byte(`{"name":"refuse-me","id":"0100000000000000","trace_id":"1-5f84c7a1-aabb00000000000000000000","start_time":1765000000,"end_time":1765000001}`)})
	for i := range 120 { // more than 2 calls' worth
		evs = append(evs, model.Event{Dataset: "b", Time: time.Unix(1_765_000_000, 0), Source: model.SourceXRay, TraceID: evs[0].TraceID, SpanID: model.SpanID{2, byte(i)}, SpanKind: "server",
			Doc: fmt.Appendf(nil, `{"name":"b","id":"02%02x000000000000","trace_id":"1-5f84c7a1-aabb00000000000000000000","start_time":1765000000,"end_time":1765000001}`, i)})
	}
	if err := f.Wrap(&sink{}).Consume(context.Background(), "test", evs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "122 documents", func() bool { return len(x.got()) == 122 })
	closeNow(t, f)
	docs := x.got()
	if want := `{"name":"backend","id":"70de5b6f19ff9a0a","trace_id":"1-5f84c7a1-aabb00000000000000000000","start_time":1765000000,"end_time":1765000000.2,` +
		`"subsegments":[{"name":"api.example.com","id":"70de5b6f19ff9a0b","namespace":"remote","start_time":1765000000.05,"end_time":1765000000.1}]}`; docs[0] != want {
		t.Fatalf("a segment goes with its embedded subsegment:\n got %s\nwant %s", docs[0], want)
	}
	var otel map[string]any
	if err := json.Unmarshal([]byte(docs[1]), &otel); err != nil || otel["name"] != "worker" || otel["id"] != "0901000000000000" || otel["trace_id"] != (model.TraceID{9}).XRay() {
		t.Fatalf("an OTLP span's rendered document: %s", docs[1])
	}
	if n := testutil.ToFloat64(f.m.dropped.WithLabelValues("event_rejected")); n != 1 {
		t.Fatalf("unprocessed segments counted: %v", n)
	}
	x.mu.Lock()
	calls := x.calls
	x.mu.Unlock()
	if calls != 3 {
		t.Fatalf("%d calls for 123 documents; want 3 of at most 50", calls)
	}
}

func TestForwardXRayWrongSecretIsDropped(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTRACECOMBTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	x := &fakeXRay{}
	srv := httptest.NewServer(x.handler(t))
	defer srv.Close()
	f := newXRayForwarder(t, srv.URL)
	if err := f.Wrap(&sink{}).Consume(context.Background(), "test", xrayEvents()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 403 counted", func() bool { return testutil.ToFloat64(f.m.dropped.WithLabelValues("rejected")) == 2 })
	closeNow(t, f)
	if len(x.got()) != 0 {
		t.Fatal("a call with a bad signature got through")
	}
}

func TestXRayDocumentsTooLarge(t *testing.T) {
	evs := xrayEvents()[:1]
	evs[0].Doc = fmt.Appendf(nil, `{"name":"big","id":"70de5b6f19ff9a0a","trace_id":"1-5f84c7a1-aabb00000000000000000000","metadata":{"x":"%s"}}`, strings.Repeat("x", XRayMaxDocumentBytes))
	docs, tooLarge := XRayDocuments(evs)
	if tooLarge != 1 || len(docs) != 0 {
		t.Fatalf("a document over 64 kB: %d too large", tooLarge)
	}
}

// TestXRayDocumentsRefusals: what the store refused is not sent; a
// subsegment whose segment was refused goes on its own.
func TestXRayDocumentsRefusals(t *testing.T) {
	evs := xrayEvents()[:2]
	p := planXRay(evs)
	whole, _ := p.documents(nil)
	if len(whole) != 1 || !strings.Contains(string(whole[0]), `"subsegments":[{"name":"api.example.com"`) {
		t.Fatalf("nothing refused: %s", whole)
	}
	noSub, _ := p.documents([]bool{false, true})
	if len(noSub) != 1 || string(noSub[0]) != string(evs[0].Doc) {
		t.Fatalf("the subsegment refused: %s", noSub)
	}
	noSeg, _ := p.documents([]bool{true, false})
	want := `{"type":"subsegment","parent_id":"70de5b6f19ff9a0a","trace_id":"1-5f84c7a1-aabb00000000000000000000","name":"api.example.com","id":"70de5b6f19ff9a0b","namespace":"remote","start_time":1765000000.05,"end_time":1765000000.1}`
	if len(noSeg) != 1 || string(noSeg[0]) != want {
		t.Fatalf("the segment refused:\n got %s\nwant %s", noSeg, want)
	}
}
