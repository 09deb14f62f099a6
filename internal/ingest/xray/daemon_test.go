package xray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var nopConsumer = ingest.ConsumerFunc(func(context.Context, string, []model.Event) error { return nil })

// sumVec adds up a counter vector over every label value the daemon uses.
func sumVec(t testing.TB, v *prometheus.CounterVec) float64 {
	t.Helper()
	labels := append([]string{ReasonNoHeader, ReasonBadHeader, ReasonEmptyBody, reasonInternal, dropQueueFull, dropConsumer, dropPendingFull, dropShutdown, dropSocketBuffer}, ErrorCodes...)
	total := 0.0
	for _, l := range labels {
		total += testutil.ToFloat64(v.WithLabelValues(l))
	}
	return total
}

// sink is a consumer that records every call.
type sink struct {
	mu      sync.Mutex
	calls   [][]model.Event
	envs    []string
	arrived chan struct{}
	block   chan struct{} // when non-nil, Consume waits for it to close
	fail    error
}

func newSink() *sink { return &sink{arrived: make(chan struct{}, 1000)} }

func (s *sink) Consume(ctx context.Context, env string, events []model.Event) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	if s.fail != nil {
		err := s.fail
		s.fail = nil
		s.mu.Unlock()
		return err
	}
	s.calls = append(s.calls, events)
	s.envs = append(s.envs, env)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (s *sink) events() []model.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []model.Event
	for _, c := range s.calls {
		all = append(all, c...)
	}
	return all
}

func (s *sink) find(id string) (model.Event, bool) {
	for _, e := range s.events() {
		if e.SpanID.String() == id {
			return e, true
		}
	}
	return model.Event{}, false
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startDaemon(t *testing.T, cfg Config, c ingest.Consumer, set Settings) *Daemon {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	d, err := NewDaemon(cfg, c, set)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return d
}

func dial(t *testing.T, d *Daemon) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, p string) {
	t.Helper()
	if _, err := c.Write([]byte(p)); err != nil {
		t.Fatal(err)
	}
}

// segment returns a one-span segment datagram with the given id.
func segment(id string) string {
	return `{"format":"json","version":1}` + "\n" +
		`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"` + id + `","name":"svc","start_time":1.5e9,"end_time":1.6e9}`
}

func spanID(i int) string { return fmt.Sprintf("%016x", i+1) }

func TestDaemonDelivers(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{Env: "prod"}, s, Settings{})
	c := dial(t, d)
	p, err := os.ReadFile("testdata/datagram_go_sdk.txt")
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, string(p))
	send(t, c, segment("00000000000000aa"))
	eventually(t, "both documents", func() bool { return len(s.events()) == 4 })
	if e, ok := s.find("2a2b3c4d5e6f7082"); !ok || e.ParentID.String() != "1a2b3c4d5e6f7081" || e.ServiceName != "e2e-svc" {
		t.Errorf("remote subsegment: %+v", e)
	}
	s.mu.Lock()
	for _, env := range s.envs {
		if env != "prod" {
			t.Errorf("env %q, want prod", env)
		}
	}
	s.mu.Unlock()
	if got := testutil.ToFloat64(d.m.received); got != 2 {
		t.Errorf("received = %v, want 2", got)
	}
	eventually(t, "spans counted", func() bool { return testutil.ToFloat64(d.m.spans) == 4 })
}

func TestDaemonBatches(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{BatchEvents: 10, MaxBatchEvents: 10, FlushInterval: time.Hour}, s, Settings{})
	c := dial(t, d)
	for i := range 30 {
		send(t, c, segment(spanID(i)))
	}
	eventually(t, "three batches", func() bool { return len(s.events()) == 30 })
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) != 3 {
		t.Fatalf("%d consumer calls, want 3", len(s.calls))
	}
	for _, c := range s.calls {
		if len(c) != 10 {
			t.Errorf("batch of %d, want 10", len(c))
		}
	}
	if s.envs[0] != "test" {
		t.Errorf("default env %q, want test", s.envs[0])
	}
}

func TestDaemonFlushInterval(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{BatchEvents: 1000, FlushInterval: 10 * time.Millisecond}, s, Settings{})
	c := dial(t, d)
	send(t, c, segment(spanID(1)))
	eventually(t, "a partial batch after the interval", func() bool { return len(s.events()) == 1 })
}

func TestDaemonShutdownFlushes(t *testing.T) {
	s := newSink()
	d, err := NewDaemon(Config{Addr: "127.0.0.1:0", BatchEvents: 1000, FlushInterval: time.Hour}, s, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	d, err = NewDaemon(Config{Addr: "127.0.0.1:0", BatchEvents: 1000, FlushInterval: time.Hour}, s, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	c := dial(t, d)
	for i := range 5 {
		send(t, c, segment(spanID(i)))
	}
	eventually(t, "5 datagrams read", func() bool { return testutil.ToFloat64(d.m.received) == 5 })
	if n := len(s.events()); n != 0 {
		t.Fatalf("%d events delivered before the batch filled", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.events()); n != 5 {
		t.Fatalf("%d events after Shutdown, want 5", n)
	}
	if err := d.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestDaemonShutdownDeadline(t *testing.T) {
	s := newSink()
	s.block = make(chan struct{}) // never released: the consumer hangs until its context ends
	d, err := NewDaemon(Config{Addr: "127.0.0.1:0", BatchEvents: 1}, s, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := dial(t, d)
	send(t, c, segment(spanID(1)))
	eventually(t, "datagram read", func() bool { return testutil.ToFloat64(d.m.received) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	// The consumer's context was cancelled: the batcher ends.
	<-d.done
}

// TestDaemonShutdownDeadlineCountsTheRest: when Shutdown's deadline
// passes with datagrams still waiting (the consumer hangs), every one of
// them is counted as dropped: with the consumer (consumer_error), waiting
// for room (queue_full) or not yet decoded (shutdown).
func TestDaemonShutdownDeadlineCountsTheRest(t *testing.T) {
	s := newSink()
	s.block = make(chan struct{}) // never released
	per := segmentBytes(t)
	d, err := NewDaemon(Config{Addr: "127.0.0.1:0", BatchEvents: 1, QueueBytes: 2 * per}, s, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := dial(t, d)
	const n = 20
	for i := range n {
		send(t, c, segment(spanID(i)))
	}
	eventually(t, "every datagram read", func() bool { return testutil.ToFloat64(d.m.received) == n })
	eventually(t, "datagrams waiting undecoded", func() bool { return d.raw.len() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	<-d.done
	if got := sumVec(t, d.m.dropped); got != n {
		t.Errorf("%v of %d counted as dropped", got, n)
	}
	if got := testutil.ToFloat64(d.m.dropped.WithLabelValues(dropShutdown)); got == 0 {
		t.Error("none counted as dropped at shutdown")
	}
	if d.own.Used() != 0 || d.rawUsed.Load() != 0 {
		t.Errorf("%d bytes of documents and %d of datagrams still held", d.own.Used(), d.rawUsed.Load())
	}
}

func TestDaemonRejects(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	reg := prometheus.NewRegistry()
	s := newSink()
	d := startDaemon(t, Config{}, s, Settings{Logger: logger, Registerer: reg})
	c := dial(t, d)
	bad := []struct {
		p      string
		reason string
	}{
		{segDoc, ReasonNoHeader},
		{`{"format":"json","version":2}` + "\n" + segDoc, ReasonBadHeader},
		{`{"format":"json","version":1}` + "\n", ReasonEmptyBody},
		{`{"format":"json","version":1}` + "\n{", CodeInvalidDocument},
		{`{"format":"json","version":1}` + "\n" + `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","name":"a","start_time":1,"end_time":2}`, CodeMissingID},
		{`{"format":"json","version":1}` + "\n" + `{"trace_id":"1-x","id":"6b55dcc497934f1a","name":"a","start_time":1,"end_time":2}`, CodeInvalidTraceID},
		{`{"format":"json","version":1}` + "\n" + `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a*","start_time":1,"end_time":2}`, CodeInvalidName},
	}
	start := time.Now()
	const rounds = 20
	for range rounds {
		for _, b := range bad {
			send(t, c, b.p)
		}
	}
	send(t, c, segment("00000000000000ff"))
	eventually(t, "the valid segment", func() bool { _, ok := s.find("00000000000000ff"); return ok })
	eventually(t, "all datagrams read", func() bool { return testutil.ToFloat64(d.m.received) == rounds*float64(len(bad))+1 })
	for _, b := range bad {
		if got := testutil.ToFloat64(d.m.rejected.WithLabelValues(b.reason)); got != rounds {
			t.Errorf("rejected{reason=%s} = %v, want %d", b.reason, got, rounds)
		}
	}
	// Rate-limited: at most one line per second (plus one for the start).
	logMu.Lock()
	lines := strings.Count(logs.String(), "rejected")
	out := logs.String()
	logMu.Unlock()
	if max := int(time.Since(start)/time.Second) + 1; lines < 1 || lines > max {
		t.Errorf("%d log lines about rejections, want 1..%d:\n%s", lines, max, out)
	}
	// The metrics are exported under their documented names.
	want := map[string]bool{
		"tracecomb_xray_segments_received_total": false, "tracecomb_xray_segments_rejected_total": false,
		"tracecomb_xray_segments_dropped_total": false, "tracecomb_xray_spans_consumed_total": false,
		"tracecomb_xray_queue_documents": false,
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		want[mf.GetName()] = true
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("metric %s not registered", name)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// segmentBytes is what one segment(id) document holds on the budgets.
func segmentBytes(t *testing.T) int64 {
	t.Helper()
	p := segment(spanID(0))
	evs, err := Decode([]byte(p[strings.IndexByte(p, '\n')+1:]))
	if err != nil {
		t.Fatal(err)
	}
	return ingest.EstimateBytes(evs)
}

// TestDaemonSlowConsumer: behind a stalled consumer, up to QueueBytes of
// decoded documents wait, the decoders wait for room with one datagram
// each, DatagramBytes of datagrams wait in their queue, and the rest are
// dropped and counted: the readers keep reading. Every datagram is
// accounted for, and what waited is delivered once the consumer is back.
func TestDaemonSlowConsumer(t *testing.T) {
	s := newSink()
	s.block = make(chan struct{})
	per := segmentBytes(t)
	const datagrams = 5 // in the datagram queue, the two being decoded included
	d := startDaemon(t, Config{BatchEvents: 1, QueueBytes: 3 * per, Decoders: 2,
		DatagramBytes: datagrams * datagramSize(len(segment(spanID(0))))}, s, Settings{})
	c := dial(t, d)
	const n = 50
	for i := range n {
		send(t, c, segment(spanID(i)))
	}
	dropped := func() float64 { return testutil.ToFloat64(d.m.dropped.WithLabelValues(dropQueueFull)) }
	eventually(t, "every datagram read", func() bool { return testutil.ToFloat64(d.m.received) == n })
	eventually(t, "the queues' bytes used up", func() bool { return dropped() >= n-3-datagrams })
	if used := d.own.Used(); used > 3*per || used < per {
		t.Errorf("%d bytes of documents held, want 1 to 3 documents of %d", used, per)
	}
	if used := d.rawUsed.Load(); used > datagrams*datagramSize(len(segment(spanID(0)))) {
		t.Errorf("%d bytes of datagrams held, more than the bound", used)
	}
	close(s.block)
	eventually(t, "queued documents delivered", func() bool { return float64(len(s.events())) == n-dropped() })
	if dropped := dropped(); dropped > n-4 {
		t.Errorf("%v of %d dropped: the datagram queue held none", dropped, n)
	}
	send(t, c, segment("00000000000000fe"))
	eventually(t, "a new segment after the stall", func() bool { _, ok := s.find("00000000000000fe"); return ok })
	if used := d.rawUsed.Load(); used != 0 {
		t.Errorf("%d bytes of datagrams held with the queue empty", used)
	}
}

// TestDaemonBatchGrowsWhileConsumerBusy: what arrives while the consumer
// works on a batch goes to it in one call, up to MaxBatchEvents, not in
// calls of BatchEvents.
func TestDaemonBatchGrowsWhileConsumerBusy(t *testing.T) {
	s := newSink()
	s.block = make(chan struct{})
	per := segmentBytes(t)
	// One reader and one decoder keep the order of the datagrams, which
	// this checks too.
	d := startDaemon(t, Config{Readers: 1, Decoders: 1, BatchEvents: 1, MaxBatchEvents: 20}, s, Settings{})
	c := dial(t, d)
	const n = 30
	for i := range n {
		send(t, c, segment(spanID(i)))
	}
	eventually(t, "every document queued or with the consumer", func() bool { return d.own.Used() == n*per })
	close(s.block)
	eventually(t, "every document delivered", func() bool { return len(s.events()) == n })
	s.mu.Lock()
	calls := slices.Clone(s.calls)
	s.mu.Unlock()
	if len(calls) > 3 {
		t.Errorf("%d consumer calls for %d documents queued behind one", len(calls), n)
	}
	for i, call := range calls {
		if len(call) > 20 {
			t.Errorf("call %d has %d spans, more than MaxBatchEvents", i, len(call))
		}
	}
	for i, e := range s.events() { // in the order sent
		if e.SpanID.String() != spanID(i) {
			t.Fatalf("span %d is %s, want %s", i, e.SpanID, spanID(i))
		}
	}
}

func TestDaemonConsumerError(t *testing.T) {
	s := newSink()
	s.fail = ingest.ErrOverloaded
	d := startDaemon(t, Config{BatchEvents: 1}, s, Settings{})
	c := dial(t, d)
	send(t, c, segment(spanID(1)))
	eventually(t, "the failure counted", func() bool { return testutil.ToFloat64(d.m.dropped.WithLabelValues(dropConsumer)) == 1 })
	send(t, c, segment(spanID(2)))
	eventually(t, "the next segment", func() bool { _, ok := s.find(spanID(2)); return ok })
}

// A stream of broken datagrams over real UDP neither crashes nor stalls the
// daemon: a valid segment sent after it still arrives.
func TestDaemonSurvivesFuzzedStream(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{}, s, Settings{})
	c := dial(t, d)
	seeds := [][]byte{[]byte(segment("0000000000000001"))}
	if p, err := os.ReadFile("testdata/datagram_go_sdk.txt"); err == nil {
		seeds = append(seeds, p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	for i := range n {
		p := mutate(rng, seeds[i%len(seeds)])
		if _, err := c.Write(p); err != nil {
			// A datagram too large to send is the sender's problem.
			continue
		}
		if i%200 == 0 {
			time.Sleep(time.Millisecond) // let the readers keep up so the kernel keeps the stream
		}
	}
	// UDP may lose datagrams under a flood; resend the valid segment until
	// it arrives, which only a live daemon can make happen.
	const id = "0123456789abcdef"
	deadline := time.Now().Add(10 * time.Second)
	for {
		send(t, c, segment(id))
		if _, ok := s.find(id); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a valid segment did not arrive after the fuzzed stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if testutil.ToFloat64(d.m.received) < n/2 {
		t.Errorf("only %v of %d datagrams received", testutil.ToFloat64(d.m.received), n)
	}
	if sumVec(t, d.m.rejected) == 0 {
		t.Error("no datagram of the fuzzed stream was rejected")
	}
	if got := testutil.ToFloat64(d.m.rejected.WithLabelValues(reasonInternal)); got != 0 {
		t.Errorf("%v datagrams crashed the decoder", got)
	}
}

// mutate breaks a datagram the ways a network or a buggy sender might.
func mutate(rng *rand.Rand, seed []byte) []byte {
	p := bytes.Clone(seed)
	switch rng.IntN(7) {
	case 0: // truncate
		return p[:rng.IntN(len(p)+1)]
	case 1: // flip bytes
		for range 1 + rng.IntN(8) {
			p[rng.IntN(len(p))] = byte(rng.IntN(256))
		}
		return p
	case 2: // random garbage
		g := make([]byte, rng.IntN(2048))
		for i := range g {
			g[i] = byte(rng.IntN(256))
		}
		return g
	case 3: // drop the header
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			return p[i+1:]
		}
		return p
	case 4: // duplicate a slice
		i, j := rng.IntN(len(p)), rng.IntN(len(p))
		if i > j {
			i, j = j, i
		}
		return append(p[:j:j], p[i:]...)
	case 5: // deep nesting
		return append([]byte(`{"format":"json","version":1}`+"\n"), bytes.Repeat([]byte("["), 5000+rng.IntN(20000))...)
	default: // insert a byte
		i := rng.IntN(len(p) + 1)
		const chars = "{}[],:\"\\\n0"
		return append(p[:i:i], append([]byte{chars[rng.IntN(len(chars))]}, p[i:]...)...)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero takes defaults", Config{}, true},
		{"explicit", Config{Addr: "0.0.0.0:2000", Env: "prod", Readers: 4}, true},
		{"no port", Config{Addr: "localhost"}, false},
		{"negative readers", Config{Readers: -1}, false},
		{"negative interval", Config{FlushInterval: -time.Second}, false},
		{"largest batch below the batch size", Config{BatchEvents: 100, MaxBatchEvents: 10}, false},
		{"batch size above the default largest", Config{BatchEvents: 20000}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				if _, err := NewDaemon(tt.cfg, nopConsumer, Settings{}); err == nil {
					t.Fatal("NewDaemon accepted a bad config")
				}
			}
		})
	}
	if d := DefaultConfig(); d.Addr != "127.0.0.1:2000" || d.Env != "test" || d.BatchEvents != 500 || d.FlushInterval != 100*time.Millisecond {
		t.Errorf("defaults: %+v", d)
	}
	if _, err := NewDaemon(Config{}, nil, Settings{}); err == nil {
		t.Error("NewDaemon accepted a nil consumer")
	}
	reg := prometheus.NewRegistry()
	if _, err := NewDaemon(Config{}, nopConsumer, Settings{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDaemon(Config{}, nopConsumer, Settings{Registerer: reg}); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func BenchmarkDaemonHandle(b *testing.B) {
	p, err := os.ReadFile("testdata/datagram_go_sdk.txt")
	if err != nil {
		b.Fatal(err)
	}
	benchHandle(b, p)
}

// benchHandle decodes and queues datagram p b.N times, taking each
// queued document off again, and returns the daemon.
func benchHandle(b *testing.B, p []byte) *Daemon {
	d, err := NewDaemon(Config{}, nopConsumer, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	var taken []queued
	for b.Loop() {
		d.handle(context.Background(), p, 0)
		taken, _ = d.queue.take(taken[:0], 1, queuedEvents)
		for _, q := range taken {
			q.release()
		}
	}
	return d
}

// annotatedDatagram is a segment with eleven string annotations, like the
// bench harness's but with longer values (732 bytes).
func annotatedDatagram(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"format": "json", "version": 1}`+"\n"+`{"name":"checkout-%d","id":"%016x","trace_id":"1-5759e988-%024x","start_time":1765100000.123456,"end_time":1765100000.138456,"annotations":{`, i%10, i+1, i+1)
	for j := range 11 {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"app.attribute_%02d":"value-%d-%d-abcdefghijklmnop"`, j, i, j)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// BenchmarkDaemonHandleAnnotated decodes and queues the bench harness's
// datagram: the decoders' work per datagram.
func BenchmarkDaemonHandleAnnotated(b *testing.B) {
	d := benchHandle(b, annotatedDatagram(1))
	if n := testutil.ToFloat64(d.m.dropped.WithLabelValues(dropQueueFull)); n != 0 {
		b.Fatalf("%v dropped", n)
	}
}

// BenchmarkDaemonReceive queues a copy of a datagram for the decoders:
// the readers' work per datagram besides the read itself.
func BenchmarkDaemonReceive(b *testing.B) {
	p := annotatedDatagram(1)
	d, err := NewDaemon(Config{}, nopConsumer, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	var taken []datagram
	for b.Loop() {
		d.receive(p)
		taken, _ = d.raw.take(taken[:0], 1, oneDatagram)
		for _, g := range taken {
			d.rawUsed.Add(-datagramSize(len(g)))
		}
	}
	if n := testutil.ToFloat64(d.m.dropped.WithLabelValues(dropQueueFull)); n != 0 {
		b.Fatalf("%v dropped", n)
	}
}

// BenchmarkDaemonUDP sends the harness's datagrams over loopback UDP as
// fast as one sender can and waits until the consumer (which keeps
// nothing) has them all, or they stop coming: the whole door without a
// store, per datagram. lost/op is the share that did not arrive, whether
// the kernel or the daemon dropped it.
func BenchmarkDaemonUDP(b *testing.B) {
	var got atomic.Int64
	count := ingest.ConsumerFunc(func(_ context.Context, _ string, evs []model.Event) error {
		got.Add(int64(len(evs)))
		return nil
	})
	d, err := NewDaemon(Config{Addr: "127.0.0.1:0"}, count, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background()) //nolint:errcheck
	c, err := net.Dial("udp", d.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ps := make([][]byte, b.N)
	for i := range ps {
		ps[i] = annotatedDatagram(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Write(ps[i]); err != nil {
			b.Fatal(err)
		}
	}
	last, still := int64(-1), 0
	for got.Load() < int64(b.N) && still < 20 {
		if n := got.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(int64(b.N)-got.Load())/float64(b.N), "lost/op")
}

// TestDaemonKeepsTheCompleteSegment: a segment sent in progress, then
// complete, then in progress again (a late duplicate) in one batch reaches
// the consumer once, complete.
func TestDaemonKeepsTheCompleteSegment(t *testing.T) {
	s := newSink()
	d := startDaemon(t, Config{BatchEvents: 1000, FlushInterval: time.Hour}, s, Settings{})
	c := dial(t, d)
	const header = `{"format":"json","version":1}` + "\n"
	open := header + `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"00000000000000cc","name":"svc","start_time":1.5e9,"in_progress":true}`
	send(t, c, open)
	send(t, c, segment("00000000000000cc"))
	send(t, c, open)
	send(t, c, segment("00000000000000dd"))
	eventually(t, "four datagrams read", func() bool { return testutil.ToFloat64(d.m.received) == 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil { // flushes the one batch
		t.Fatal(err)
	}
	evs := s.events()
	if len(evs) != 2 {
		t.Fatalf("%d spans, want 2: %+v", len(evs), evs)
	}
	if e := evs[0]; e.SpanID.String() != "00000000000000cc" || e.DurationMs == 0 || xrayview.InProgress(&e) {
		t.Errorf("kept %+v, want the complete segment", e)
	}
}
