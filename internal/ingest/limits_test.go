package ingest

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/tracecomb/tracecomb/internal/model"
)

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	r1, ok := b.TryReserve(60)
	if !ok || b.Used() != 60 {
		t.Fatalf("60 of 100: ok=%v used=%d", ok, b.Used())
	}
	if _, ok := b.TryReserve(41); ok {
		t.Fatal("41 more fit in 100 with 60 held")
	}
	r2, ok := b.TryReserve(40)
	if !ok || b.Used() != 100 {
		t.Fatalf("40 more: ok=%v used=%d", ok, b.Used())
	}
	r2.Release()
	r2.Release() // twice is harmless
	// Alone, a reservation may pass the limit: a legal request larger
	// than the whole budget is never refused forever.
	if !r1.TryGrow(1000) || b.Used() != 1060 {
		t.Fatalf("a lone holder could not grow past the limit: used %d", b.Used())
	}
	if _, ok := b.TryReserve(1); ok {
		t.Fatal("a second holder got bytes over the limit")
	}
	r1.ShrinkTo(50)
	if b.Used() != 50 || r1.Bytes() != 50 {
		t.Fatalf("ShrinkTo(50): used %d, held %d", b.Used(), r1.Bytes())
	}
	// Absorb moves bytes between reservations of one budget.
	r3, _ := b.TryReserve(10)
	if !r1.Absorb(r3) || r1.Bytes() != 60 || r3.Bytes() != 0 || b.Used() != 60 {
		t.Fatalf("Absorb: %d/%d, used %d", r1.Bytes(), r3.Bytes(), b.Used())
	}
	if r1.Absorb(NewBudget(10).NewReservation()) {
		t.Fatal("absorbed a reservation of another budget")
	}

	// Grow waits for room, and gives up after the wait or with ctx.
	if r4 := b.NewReservation(); r4.Grow(context.Background(), 50, 20*time.Millisecond) || b.Used() != 60 {
		t.Fatalf("Grow past the limit succeeded or leaked: used %d", b.Used())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if b.NewReservation().Grow(ctx, 50, time.Minute) {
		t.Fatal("Grow with a cancelled ctx succeeded")
	}
	got := make(chan bool)
	go func() { got <- b.NewReservation().Grow(context.Background(), 50, time.Minute) }()
	time.Sleep(10 * time.Millisecond)
	r1.Release()
	select {
	case ok := <-got:
		if !ok || b.Used() != 50 {
			t.Fatalf("Grow after a release: %v, used %d", ok, b.Used())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting Grow was not woken by a release")
	}

	var nilBudget *Budget
	if r := nilBudget.NewReservation(); !r.TryGrow(1<<60) || r.Bytes() != 0 {
		t.Fatal("a nil budget must grant everything and hold nothing")
	}
}

// TestBudgetGrowers: holders waiting to grow come before newcomers, and
// when every holder waits to grow (none can finish) the last one gives up
// at once instead of all of them waiting out their time.
func TestBudgetGrowers(t *testing.T) {
	b := NewBudget(100)
	a, _ := b.TryReserve(40)
	c, _ := b.TryReserve(40)
	grown := make(chan bool)
	go func() { grown <- a.Grow(context.Background(), 30, time.Minute) }() // waits: 110 > 100
	eventually(t, "a waiting to grow", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.growing == 1 })
	if _, ok := b.TryReserve(10); ok {
		t.Fatal("a newcomer took bytes a waiting holder needs")
	}
	// c waiting too would leave nobody to finish: it gives up at once.
	cGrown := make(chan bool)
	go func() { cGrown <- c.Grow(context.Background(), 30, time.Hour) }()
	select {
	case ok := <-cGrown:
		if ok {
			t.Fatal("every holder waiting to grow, and c's growth succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("c waits instead of giving up")
	}
	c.Release() // as the refused request does
	select {
	case ok := <-grown:
		if !ok || a.Bytes() != 70 || b.Used() != 70 {
			t.Fatalf("a after c gave up: %v, held %d, used %d", ok, a.Bytes(), b.Used())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a was not woken")
	}
	a.Release()
	if b.Used() != 0 || b.holders != 0 || b.growing != 0 {
		t.Fatalf("used %d, holders %d, growing %d after every release", b.Used(), b.holders, b.growing)
	}
}

// bigEvents returns n events of about size bytes each (EstimateBytes).
func bigEvents(n, size int) []model.Event {
	ev := make([]model.Event, n)
	for i := range ev {
		ev[i].Name = "span"
		ev[i].Attrs = []model.Attr{{Key: "blob", Value: model.Str(strings.Repeat("x", size))}}
	}
	return ev
}

// TestBatcherBoundsPendingBytes: past MaxPendingBytes of events waiting
// for a commit, Consume refuses at once (the count bound alone let 2.4 GB
// pile up); once committed, the bytes are given back.
func TestBatcherBoundsPendingBytes(t *testing.T) {
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{MaxPendingBytes: 1 << 20}, func(context.Context, []EnvEvents) error { <-gate; return nil }, nil, nil)
	defer b.Close(context.Background())
	var open sync.Once
	defer open.Do(func() { close(gate) }) // first, so that a failing test ends
	ev := bigEvents(10, 30_000)           // ~300 KB, few events: the count bound is far
	per := EstimateBytes(ev)
	if per < 300_000 {
		t.Fatalf("estimate %d for 300 KB of strings", per)
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- b.Consume(context.Background(), "x", bigEvents(10, 30_000)) }()
	}
	eventually(t, "three requests pending", func() bool { return b.Budget().Used() == 3*per })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Consume(ctx, "x", bigEvents(10, 30_000)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a fourth 300 KB request with 1 MiB pending: %v, want ErrOverloaded", err)
	}
	open.Do(func() { close(gate) })
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if used := b.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes still held after every commit", used)
	}
}

// TestBatcherTakesOverReservation: bytes a door reserved while decoding
// stand for the events: the batcher takes them over instead of reserving
// again, and gives them back after the commit.
func TestBatcherTakesOverReservation(t *testing.T) {
	var during int64
	b := NewBatcher(BatcherConfig{MaxPendingBytes: 1 << 20}, nil, nil, nil)
	b.flush = func(context.Context, []EnvEvents) error { during = b.Budget().Used(); return nil }
	defer b.Close(context.Background())
	r, ok := b.Budget().TryReserve(700_000)
	if !ok {
		t.Fatal("reserve")
	}
	if err := b.Consume(WithReservation(context.Background(), r), "x", bigEvents(10, 30_000)); err != nil {
		t.Fatal(err)
	}
	if during != 700_000 || r.Bytes() != 0 {
		t.Fatalf("during the commit %d bytes held (want the 700000 reserved, once), reservation left %d", during, r.Bytes())
	}
	r.Release()
	if used := b.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes held after the commit", used)
	}
	// A reservation on another budget is not taken over.
	other, _ := NewBudget(1 << 30).TryReserve(5)
	if err := b.Consume(WithReservation(context.Background(), other), "x", events(1)); err != nil || other.Bytes() != 5 {
		t.Fatalf("foreign reservation: %v, %d left", err, other.Bytes())
	}
}

// TestBatcherKeepsNoCommittedEvents: after a burst is committed the
// batcher's queue does not keep the events alive (its backing array held
// them until overwritten: memory still held after a burst).
func TestBatcherKeepsNoCommittedEvents(t *testing.T) {
	gate := make(chan struct{})
	b := NewBatcher(BatcherConfig{MaxPendingBytes: 1 << 30}, func(context.Context, []EnvEvents) error { <-gate; return nil }, nil, nil)
	defer b.Close(context.Background())
	var open sync.Once
	defer open.Do(func() { close(gate) }) // first, so that a failing test ends
	// One request goes to the (blocked) commit; 16 more of 4 MB each queue
	// behind it and are committed together.
	var wg sync.WaitGroup
	consume := func(n int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Consume(context.Background(), "x", bigEvents(n, 400_000)); err != nil {
				t.Error(err)
			}
		}()
	}
	consume(1)
	eventually(t, "the first commit running", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 0 && b.pending == 1 })
	for range 16 {
		consume(10)
	}
	eventually(t, "the burst queued", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 16 })
	open.Do(func() { close(gate) })
	wg.Wait()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 32<<20 {
		t.Fatalf("%d MB of heap after 64 MB of events were committed: the batcher kept them", ms.HeapAlloc>>20)
	}
}

// bomb is a gzip body that inflates to n zero bytes.
func bomb(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		z.Write(chunk[:k]) //nolint:errcheck // bytes.Buffer
		n -= k
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInflaterBudget: decompressions in flight together hold at most the
// budget; one that cannot get its share waits, then gets
// ErrDecompressBusy (it is not the request's fault); and a bomb stopped at
// the limit allocates about the limit once, not the doublings of a
// growing buffer.
func TestInflaterBudget(t *testing.T) {
	in := NewInflater(6<<20, 50*time.Millisecond)
	body := bomb(t, 4<<20)
	const limit = 4 << 20 // the bomb fits exactly

	dst := new(bytes.Buffer)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r1, tooBig, err := in.Decompress(context.Background(), dst, body, "gzip", limit)
	runtime.ReadMemStats(&after)
	if err != nil || tooBig || dst.Len() != limit {
		t.Fatalf("first: %v tooBig=%v len=%d", err, tooBig, dst.Len())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit+limit/8 {
		t.Errorf("decompressing 4 MiB allocated %d KiB", alloc>>10)
	}
	if held := in.Budget().Used(); held < limit || held > limit+limit/8 {
		t.Fatalf("the first body holds %d bytes of the budget, want its size", held)
	}
	// A second 4 MiB body does not fit beside the first: it waits, then
	// is refused.
	if _, _, err := in.Decompress(context.Background(), new(bytes.Buffer), body, "gzip", limit); !errors.Is(err, ErrDecompressBusy) {
		t.Fatalf("second body with the budget taken: %v, want ErrDecompressBusy", err)
	}
	if held := in.Budget().Used(); held != r1.Bytes() {
		t.Fatalf("the refused body left %d bytes held", held-r1.Bytes())
	}
	// It goes through once the first is done, even while waiting.
	done := make(chan error, 1)
	go func() {
		patient := &Inflater{budget: in.budget, wait: time.Minute, busy: in.busy} // the same budget
		r, _, err := patient.Decompress(context.Background(), new(bytes.Buffer), body, "gzip", limit)
		r.Release()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	r1.Release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after the first was released: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting body never got its share")
	}
	if held := in.Budget().Used(); held != 0 {
		t.Fatalf("%d bytes held after every body was released", held)
	}

	// A bomb over the limit is stopped there, having allocated about the
	// limit (bytes.Buffer's doubling made it 2-3×).
	big := bomb(t, 16<<20)
	runtime.ReadMemStats(&before)
	r, tooBig, err := in.Decompress(context.Background(), new(bytes.Buffer), big, "gzip", limit)
	runtime.ReadMemStats(&after)
	r.Release()
	if !tooBig || err != nil {
		t.Fatalf("16 MiB bomb, 4 MiB limit: tooBig=%v err=%v", tooBig, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit+limit/8 {
		t.Errorf("stopping a bomb at 4 MiB allocated %d KiB", alloc>>10)
	}
}

// TestInflaterWithoutSizeHint: a stream whose declared size is missing or
// wrong (a gzip of several members declares only its last one's; a zstd
// stream may declare none) is read into pooled chunks past its first
// buffer, then into one of the exact size: the result is intact, and a
// bomb of that kind is stopped at the limit having allocated about the
// limit, not the doublings of a growing buffer.
func TestInflaterWithoutSizeHint(t *testing.T) {
	in := NewInflater(64<<20, time.Second)
	member := bomb(t, 1<<20)
	const limit = 4 << 20
	for _, c := range []struct {
		name string
		src  []byte
		want int
	}{
		{"gzip, 3 members", bytes.Repeat(member, 3), 3 << 20},
		{"zstd stream", zstdStream(t, 3<<20), 3 << 20},
	} {
		dst := new(bytes.Buffer)
		r, tooBig, err := in.Decompress(context.Background(), dst, c.src, map[bool]string{true: "gzip", false: "zstd"}[strings.HasPrefix(c.name, "gzip")], limit)
		if err != nil || tooBig || dst.Len() != c.want || !bytes.Equal(dst.Bytes(), make([]byte, c.want)) {
			t.Fatalf("%s: %v tooBig=%v, %d bytes", c.name, err, tooBig, dst.Len())
		}
		if r.Bytes() < int64(c.want) || r.Bytes() > int64(c.want)+64<<10 {
			t.Errorf("%s: %d bytes held for a result of %d", c.name, r.Bytes(), c.want)
		}
		r.Release()
	}
	// Warm the chunk pool, as earlier bombs do, then measure one.
	multi := bytes.Repeat(member, 16)
	for range 2 {
		r, _, _ := in.Decompress(context.Background(), new(bytes.Buffer), multi, "gzip", limit)
		r.Release()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, tooBig, err := in.Decompress(context.Background(), new(bytes.Buffer), multi, "gzip", limit)
	runtime.ReadMemStats(&after)
	r.Release()
	if !tooBig || err != nil {
		t.Fatalf("16 MiB in 16 members, 4 MiB limit: tooBig=%v err=%v", tooBig, err)
	}
	// Doubling from the declared 1 MiB allocates 1+2+4 MiB; chunks, even
	// when the pool is empty (the race detector drops pooled items), at
	// most the limit.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit+1<<20 {
		t.Errorf("stopping a bomb that declares 1 MiB at 4 MiB allocated %d KiB", alloc>>10)
	}
	if used := in.Budget().Used(); used != 0 {
		t.Fatalf("%d bytes held after every release", used)
	}
}

// zstdStream compresses n zero bytes as a stream that does not declare
// its size.
func zstdStream(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, n)) //nolint:errcheck // bytes.Buffer
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if h.Decode(buf.Bytes()) == nil && h.HasFCS {
		t.Fatal("the stream declares its size")
	}
	return buf.Bytes()
}

func TestPutBufferDropsLargeBuffers(t *testing.T) {
	for range 10 {
		b := GetBuffer()
		b.Grow(2 << 20)
		PutBuffer(b)
		if got := GetBuffer(); got.Cap() > MaxPooledBuffer {
			t.Fatalf("the pool kept a buffer of %d bytes", got.Cap())
		}
	}
}
