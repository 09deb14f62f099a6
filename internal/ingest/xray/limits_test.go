package xray

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/ingest"
)

// bigDatagram is a segment with subs subsegments, each with annotations
// and metadata: one datagram of ~40 KB that decodes to some hundreds of
// KB of spans (a flood of 1,000 of these a second once took RSS to
// 13 GB behind a queue bounded only in documents).
func bigDatagram(i, subs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"format":"json","version":1}`+"\n"+`{"trace_id":"1-5759e988-%024x","id":"%016x","name":"flood","start_time":1.5e9,"end_time":1.6e9,"subsegments":[`, i+1, i+1)
	for j := range subs {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%08x%08x","name":"call-%d","start_time":1.5e9,"end_time":1.50001e9,"namespace":"remote","annotations":{"a":"%d","b":%d},"metadata":{"default":{"k":"v%d"}}}`, i+1, j+1, j, j, j, j)
	}
	b.WriteString("]}")
	return b.String()
}

// TestDaemonQueueBoundedInBytes: the decoded documents the daemon holds
// are bounded by QueueBytes, not only by their count: past it, datagrams
// are dropped and counted, and the heap stays near the bound.
func TestDaemonQueueBoundedInBytes(t *testing.T) {
	p := []byte(bigDatagram(0, 200))
	if len(p) > ReadBufferSize {
		t.Fatalf("datagram of %d bytes", len(p))
	}
	const queueBytes = 4 << 20
	d, err := NewDaemon(Config{QueueBytes: queueBytes}, nopConsumer, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := Decode(p[strings.IndexByte(string(p), '\n')+1:])
	if err != nil {
		t.Fatal(err)
	}
	per := ingest.EstimateBytes(evs)
	const n = 300
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		d.handle(context.Background(), p, 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	queued := d.queue.len()
	dropped := testutil.ToFloat64(d.m.dropped.WithLabelValues(dropQueueFull))
	if int64(queued) > queueBytes/per+1 || queued == 0 || float64(queued)+dropped != n {
		t.Fatalf("%d documents of %d bytes queued under %d bytes, %v dropped of %d", queued, per, queueBytes, dropped, n)
	}
	t.Logf("%d-byte datagrams decode to ~%d bytes each: %d queued, %v dropped", len(p), per, queued, dropped)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 3*queueBytes {
		t.Errorf("the heap grew by %d MB holding a queue bounded at %d MB", grew>>20, queueBytes>>20)
	}
	taken, _ := d.queue.take(nil, 1<<30, queuedEvents)
	if len(taken) != queued {
		t.Fatalf("took %d documents of %d queued", len(taken), queued)
	}
	for _, q := range taken {
		q.release()
	}
	if used := d.own.Used(); used != 0 {
		t.Fatalf("%d bytes held with the queue empty", used)
	}
}

// TestDaemonSharesPendingBudget: the daemon's documents are reserved on
// the pending budget the other doors use: with the commit stalled, the
// budget bounds what the daemon holds and the rest is dropped
// (pending_full); the batcher takes the reservations over, and every byte
// comes back once committed.
func TestDaemonSharesPendingBudget(t *testing.T) {
	gate := make(chan struct{})
	const pending = 2 << 20
	b := ingest.NewBatcher(ingest.BatcherConfig{MaxPendingBytes: pending}, func(context.Context, []ingest.EnvEvents) error { <-gate; return nil }, nil, nil)
	defer b.Close(context.Background())
	var open sync.Once
	defer open.Do(func() { close(gate) }) // first, so that a failing test ends
	d := startDaemon(t, Config{QueueBytes: 64 << 20, BatchEvents: 100}, b, Settings{Pending: b.Budget()})
	c := dial(t, d)
	const n = 100
	for i := range n {
		send(t, c, bigDatagram(i, 200))
	}
	droppedPending := func() float64 { return testutil.ToFloat64(d.m.dropped.WithLabelValues(dropPendingFull)) }
	eventually(t, "every datagram read", func() bool { return testutil.ToFloat64(d.m.received) == n })
	evs, _ := Decode([]byte(bigDatagram(0, 200)[strings.IndexByte(bigDatagram(0, 200), '\n')+1:]))
	per := ingest.EstimateBytes(evs)
	if used := b.Budget().Used(); used > pending+per {
		t.Errorf("%d bytes held on a pending budget of %d", used, pending)
	}
	if droppedPending() == 0 {
		t.Error("nothing dropped with the pending budget used up")
	}
	// Another door finds the budget used up too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Consume(ctx, "test", evs); err != ingest.ErrOverloaded {
		t.Errorf("another door's events with the budget used by the daemon: %v, want ErrOverloaded", err)
	}
	open.Do(func() { close(gate) })
	eventually(t, "every byte given back", func() bool { return b.Budget().Used() == 0 && d.own.Used() == 0 })
}
