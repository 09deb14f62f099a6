package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/model"
)

func events(n int) []model.Event {
	ev := make([]model.Event, n)
	for i := range ev {
		ev[i].Name = "span"
	}
	return ev
}

func TestBatcherGroupsConcurrentRequests(t *testing.T) {
	var mu sync.Mutex
	var flushes, stored int
	perEnv := map[string]int{}
	gate := make(chan struct{})
	flush := func(ctx context.Context, groups []EnvEvents) error {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		flushes++
		for _, g := range groups {
			stored += len(g.Events)
			perEnv[g.Env] += len(g.Events)
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	b := NewBatcher(BatcherConfig{}, flush, nil, reg)
	const requests = 200
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := "a"
			if i%2 == 1 {
				env = "b"
			}
			if err := b.Consume(context.Background(), env, events(3)); err != nil {
				t.Error(err)
			}
		}()
	}
	// Let the first commit block until every request is accepted: in the
	// blocked commit (which may have taken more than one) or queued behind it.
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == requests*3 })
	close(gate)
	wg.Wait()
	if stored != requests*3 || perEnv["a"] != requests/2*3 || perEnv["b"] != requests/2*3 {
		t.Fatalf("stored %d (%v), want %d split evenly", stored, perEnv, requests*3)
	}
	if flushes > 3 {
		t.Fatalf("%d commits for %d concurrent requests; want them grouped", flushes, requests)
	}
	if got := testutil.ToFloat64(b.mStored); got != requests*3 {
		t.Fatalf("stored metric %v", got)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBatcherRefusals: events the store refuses in a grouped commit go
// back to the request that sent them, with indexes into its own events;
// the other requests of the commit see success.
func TestBatcherRefusals(t *testing.T) {
	tooWide := errors.New("too many columns")
	gate := make(chan struct{})
	flush := func(ctx context.Context, groups []EnvEvents) error {
		<-gate
		for gi := range groups {
			for i, ev := range groups[gi].Events {
				if ev.Name == "wide" {
					groups[gi].Refused = append(groups[gi].Refused, Refusal{Index: i, Err: tooWide})
				}
			}
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	b := NewBatcher(BatcherConfig{}, flush, nil, reg)
	defer b.Close(context.Background())
	type req struct {
		env   string
		names []string
		want  []int // refused indexes
	}
	reqs := []req{
		{"a", []string{"ok", "wide", "ok", "wide"}, []int{1, 3}},
		{"b", []string{"wide"}, []int{0}},
		{"a", []string{"ok", "ok"}, nil},
		{"a", []string{"ok", "ok", "wide"}, []int{2}},
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs := make([]model.Event, len(r.names))
			for k, n := range r.names {
				evs[k].Name = n
			}
			errs[i] = b.Consume(context.Background(), r.env, evs)
		}()
	}
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == 10 })
	close(gate)
	wg.Wait()
	for i, r := range reqs {
		re := Refused(errs[i])
		if r.want == nil {
			if errs[i] != nil {
				t.Errorf("request %d: %v, want success", i, errs[i])
			}
			continue
		}
		if re == nil || re.Total != len(r.names) || !errors.Is(errs[i], tooWide) || !IsPermanent(errs[i]) {
			t.Fatalf("request %d: %v, want a permanent RefusedError wrapping the reason", i, errs[i])
		}
		var got []int
		for _, f := range re.Refused {
			got = append(got, f.Index)
		}
		if fmt.Sprint(got) != fmt.Sprint(r.want) {
			t.Errorf("request %d: refused %v, want %v", i, got, r.want)
		}
	}
	if got := testutil.ToFloat64(b.mStored); got != 6 {
		t.Errorf("stored metric %v, want 6 (10 sent, 4 refused)", got)
	}
}

func TestBatcherReportsStoreErrorsToEveryWaiter(t *testing.T) {
	boom := errors.New("disk full")
	b := NewBatcher(BatcherConfig{}, func(context.Context, []EnvEvents) error { return boom }, nil, nil)
	defer b.Close(context.Background())
	if err := b.Consume(context.Background(), "x", events(1)); !errors.Is(err, boom) {
		t.Fatalf("Consume = %v, want the store's error", err)
	}
	if !IsRetryable(boom) {
		t.Fatal("a store error must be retryable")
	}
}

func TestBatcherOverload(t *testing.T) {
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{MaxPendingEvents: 10}, func(context.Context, []EnvEvents) error { <-gate; return nil }, nil, nil)
	first := make(chan error)
	go func() { first <- b.Consume(context.Background(), "x", events(8)) }()
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == 8 })
	if err := b.Consume(context.Background(), "x", events(5)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Consume over the limit = %v, want ErrOverloaded", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A single request bigger than the limit is still taken when nothing waits.
	if err := b.Consume(context.Background(), "x", events(50)); err != nil {
		t.Fatalf("lone big request refused: %v", err)
	}
	b.Close(context.Background())
}

func TestBatcherCloseFlushesAndRefuses(t *testing.T) {
	var stored atomic.Int64
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{}, func(_ context.Context, g []EnvEvents) error {
		<-gate
		for _, e := range g {
			stored.Add(int64(len(e.Events)))
		}
		return nil
	}, nil, nil)
	errs := make(chan error, 5)
	for range 5 {
		go func() { errs <- b.Consume(context.Background(), "x", events(2)) }()
	}
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == 10 })
	closed := make(chan error)
	go func() { closed <- b.Close(context.Background()) }()
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closed })
	if err := b.Consume(context.Background(), "x", events(1)); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("Consume after Close = %v", err)
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if stored.Load() != 10 {
		t.Fatalf("stored %d, want every accepted event flushed on Close", stored.Load())
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal("second Close:", err)
	}
}

// waitUntil polls cond; the test's own timeout bounds it.
func waitUntil(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func TestPermanent(t *testing.T) {
	err := Permanentf("bad span %d", 3)
	if !IsPermanent(err) || IsRetryable(err) || err.Error() != "bad span 3" {
		t.Fatalf("Permanentf: %v", err)
	}
	wrapped := errors.Join(errors.New("ctx"), err)
	if !IsPermanent(wrapped) {
		t.Fatal("wrapped permanent not detected")
	}
	if Permanent(nil) != nil || IsRetryable(nil) {
		t.Fatal("nil handling")
	}
}

func BenchmarkBatcherConsume(b *testing.B) {
	bt := NewBatcher(BatcherConfig{}, func(context.Context, []EnvEvents) error { return nil }, nil, nil)
	defer bt.Close(context.Background())
	ev := events(10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bt.Consume(context.Background(), "x", ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBatcherLingersForAnsweredSenders: senders that send their next
// request as soon as the last is answered share one commit, instead of
// splitting into commits of whoever happened to be queued.
func TestBatcherLingersForAnsweredSenders(t *testing.T) {
	const senders, rounds = 4, 20
	var rec commitSizes
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{}, rec.flush(gate), nil, nil)
	b.lingerFor = func(time.Duration) time.Duration { return time.Hour } // only the count or Close ends a wait
	var finished atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer finished.Add(1)
			for range rounds {
				if err := b.Consume(context.Background(), "x", events(1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// The first commit holds whoever came first; the others queue behind it.
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == senders })
	close(gate)
	// The senders of the first commit finish a round before the others,
	// whose last requests then wait for them: Close ends the wait.
	waitUntil(func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		f := int(finished.Load())
		return f > 0 && f+len(b.queue) == senders
	})
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sizes := rec.get()
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total != senders*rounds {
		t.Fatalf("stored %d events, want %d", total, senders*rounds)
	}
	// The first commit, then one per round with every sender, and the
	// last requests of those not in the first.
	if len(sizes) > rounds+1 {
		t.Fatalf("%d commits for %d rounds of %d senders (sizes %v); want every sender's request of a round in one", len(sizes), rounds, senders, sizes)
	}
}

// TestBatcherLingerEnds: when fewer requests come than the writer
// expects, the next commit starts anyway once the linger is over.
func TestBatcherLingerEnds(t *testing.T) {
	for _, linger := range []time.Duration{-1, 0} { // never, the default
		gate := make(chan struct{})
		b := NewBatcher(BatcherConfig{MaxLinger: linger}, func(context.Context, []EnvEvents) error { <-gate; return nil }, nil, nil)
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- b.Consume(context.Background(), "x", events(1)) }()
		}
		waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == 3 })
		close(gate)
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		// Three were answered; one comes back.
		done := make(chan error)
		go func() { done <- b.Consume(context.Background(), "x", events(1)) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("MaxLinger %v: a request still waits for others that never came", linger)
		}
		if err := b.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBatcherMaxFlushBytes: a commit takes requests up to MaxFlushBytes
// of their pending bytes (a larger single request alone).
func TestBatcherMaxFlushBytes(t *testing.T) {
	one := EstimateBytes(events(10))
	var rec commitSizes
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{MaxFlushBytes: 2 * one, MaxLinger: -1}, rec.flush(gate), nil, nil)
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for _, n := range []int{10, 10, 10, 10, 10, 30} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Consume(context.Background(), "x", events(n)); err != nil {
				t.Error(err)
			}
		}()
	}
	waitUntil(func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.pending == 80 })
	close(gate)
	wg.Wait()
	sizes := rec.get()
	for _, n := range sizes {
		if n > 20 && n != 30 {
			t.Fatalf("commit sizes %v: a commit of %d events passed MaxFlushBytes (%d bytes, 20 events)", sizes, n, 2*one)
		}
	}
	if len(sizes) < 4 {
		t.Fatalf("commit sizes %v: want at least 4 commits", sizes)
	}
}

// commitSizes records how many events each commit of a batcher held;
// flush is its FlushFunc, each commit waiting until gate is closed.
type commitSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (c *commitSizes) flush(gate <-chan struct{}) FlushFunc {
	return func(_ context.Context, g []EnvEvents) error {
		<-gate
		n := 0
		for _, e := range g {
			n += len(e.Events)
		}
		c.mu.Lock()
		c.sizes = append(c.sizes, n)
		c.mu.Unlock()
		return nil
	}
}

func (c *commitSizes) get() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sizes)
}
