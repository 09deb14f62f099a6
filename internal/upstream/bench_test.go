package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEnqueue is the cost a door's Consume pays for forwarding:
// encoding 100 events for Honeycomb, one write and one fsync of the
// queue (group fsync: concurrent calls share one), while the sender
// drains the queue to a server that accepts everything.
func BenchmarkEnqueue(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // no per-event statuses: all taken
	}))
	defer srv.Close()
	f, err := New(context.Background(), Config{Target: TargetHoneycomb, Dir: b.TempDir(), MaxQueueBytes: 256 << 20,
		HoneycombURL: srv.URL, HoneycombKey: "k"}, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	defer closeNow(b, f)
	c := f.Wrap(&sink{})
	evs := testEvents(100, "bench")
	size := len(AppendHoneycombEvent(nil, &evs[0])) * len(evs)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Consume(context.Background(), "e", evs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendHoneycombEvent is the encoding of one event.
func BenchmarkAppendHoneycombEvent(b *testing.B) {
	ev := testEvents(1, "bench")[0]
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHoneycombEvent(buf[:0], &ev)
	}
	b.SetBytes(int64(len(buf)))
}
