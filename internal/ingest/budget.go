package ingest

import (
	"context"
	"sync"
	"time"
	"unsafe"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Budget bounds the bytes of memory that concurrent users hold: the
// events accepted and waiting for a commit (the Batcher's budget, shared by
// every door), or the request bodies being decompressed (an Inflater's).
// Users take bytes with a Reservation and give them back with Release.
//
// A reservation is granted when it fits under the limit, or when nothing
// else holds any of the budget: a single piece of work larger than the
// whole budget can still go through, alone, so a request that is legal
// (within the per-request limits) is never refused forever. Holders that
// wait to grow (Reservation.Grow) come before newcomers, and when every
// holder is waiting to grow, none can finish: the last to wait gives up,
// so that the others can.
//
// A nil *Budget is unlimited.
type Budget struct {
	limit int64

	mu      sync.Mutex
	used    int64
	holders int           // reservations holding bytes
	growing int           // of them, those waiting in Grow
	changed chan struct{} // closed when bytes are released, if someone waits
}

// NewBudget returns a budget of limit bytes (limit ≤ 0: nil, unlimited).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		return nil
	}
	return &Budget{limit: limit}
}

// Limit returns the budget's size in bytes (0 for a nil budget).
func (b *Budget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

// Used returns the bytes held now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// NewReservation returns an empty reservation on b, to grow as work
// proceeds (nil for a nil budget; a nil reservation grants everything).
func (b *Budget) NewReservation() *Reservation {
	if b == nil {
		return nil
	}
	return &Reservation{b: b}
}

// TryReserve returns a reservation of n bytes, or false at once if they do
// not fit.
func (b *Budget) TryReserve(n int64) (*Reservation, bool) {
	r := b.NewReservation()
	if !r.TryGrow(n) {
		return nil, false
	}
	return r, true
}

// fits reports whether n more bytes may go to r now. Callers hold b.mu.
func (b *Budget) fits(r *Reservation, n int64) bool {
	if b.used == r.n { // alone
		return true
	}
	if r.n == 0 && b.growing > 0 { // holders waiting to grow come first
		return false
	}
	return b.used+n <= b.limit
}

// add moves n bytes (negative: gives back) to r. Callers hold b.mu.
func (b *Budget) add(r *Reservation, n int64) {
	before := r.n
	r.n += n
	b.used += n
	switch {
	case before == 0 && r.n > 0:
		b.holders++
	case before > 0 && r.n == 0:
		b.holders--
	}
	if n < 0 {
		b.notify()
	}
}

// notify wakes the waiters of Grow. Callers hold b.mu.
func (b *Budget) notify() {
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

// release gives back n bytes that a reservation handed over (take).
func (b *Budget) release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.notify()
	b.mu.Unlock()
}

// Reservation is bytes held from a Budget. It is not safe for concurrent
// use: one goroutine grows it and hands it on (see WithReservation). A nil
// *Reservation holds nothing and grants every growth.
type Reservation struct {
	b *Budget
	n int64
}

// Bytes returns the bytes held.
func (r *Reservation) Bytes() int64 {
	if r == nil {
		return 0
	}
	return r.n
}

// TryGrow adds n bytes if they fit now, reporting whether it did.
func (r *Reservation) TryGrow(n int64) bool {
	if r == nil || n <= 0 {
		return true
	}
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fits(r, n) {
		return false
	}
	b.add(r, n)
	return true
}

// Grow adds n bytes, waiting up to wait for others to release enough; it
// reports false if they did not in time, if ctx ended, or if every holder
// of the budget, r included, is waiting to grow (none could finish).
func (r *Reservation) Grow(ctx context.Context, n int64, wait time.Duration) bool {
	if r.TryGrow(n) {
		return true
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	b := r.b
	b.mu.Lock()
	holding := r.n > 0
	if holding {
		if b.growing+1 >= b.holders {
			b.mu.Unlock()
			return false
		}
		b.growing++
	}
	defer func() {
		if holding {
			b.mu.Lock()
			b.growing--
			b.mu.Unlock()
		}
	}()
	for {
		if b.fits(r, n) {
			b.add(r, n)
			b.mu.Unlock()
			return true
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
		b.mu.Lock()
	}
}

// Shrink gives back n of the bytes held (all of them if n is more).
func (r *Reservation) Shrink(n int64) {
	if r == nil || n <= 0 {
		return
	}
	r.b.mu.Lock()
	r.b.add(r, -min(n, r.n))
	r.b.mu.Unlock()
}

// ShrinkTo gives back what is held beyond n bytes.
func (r *Reservation) ShrinkTo(n int64) {
	if r != nil && r.n > n {
		r.Shrink(r.n - max(n, 0))
	}
}

// Absorb moves o's bytes, from the same budget, into r; o is left empty.
// It reports false (and moves nothing) if the budgets differ.
func (r *Reservation) Absorb(o *Reservation) bool {
	if r == nil || o == nil || r.b != o.b {
		return r == nil && o == nil
	}
	b := r.b
	b.mu.Lock()
	n := o.n
	o.n = 0
	r.n += n
	if n > 0 {
		b.holders-- // o held bytes, r now does
		if r.n == n {
			b.holders++
		}
	}
	b.mu.Unlock()
	return true
}

// Release gives every byte back. It is safe to call more than once, and on
// a reservation whose bytes were taken over (see WithReservation).
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	r.b.add(r, -r.n)
	r.b.mu.Unlock()
}

// take empties r and returns its bytes, which the caller now holds on r's
// budget (and gives back with Budget.release).
func (r *Reservation) take() int64 {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	n := r.n
	if n > 0 {
		r.n = 0
		b.holders--
	}
	return n
}

type reservationKey struct{}

// WithReservation returns ctx carrying r, the bytes reserved for the
// events about to be given to Consume: a consumer that keeps the events on
// r's budget (the Batcher on its own) takes the bytes over instead of
// reserving them again, and releases them once the events are committed.
// The caller still calls r.Release after Consume, which gives back
// whatever was not taken over.
func WithReservation(ctx context.Context, r *Reservation) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, reservationKey{}, r)
}

func reservationFrom(ctx context.Context) *Reservation {
	r, _ := ctx.Value(reservationKey{}).(*Reservation)
	return r
}

// Sizes of the in-memory event representation, for EstimateBytes and the
// decoders' own accounting.
const (
	EventSize = int64(unsafe.Sizeof(model.Event{}))
	AttrSize  = int64(unsafe.Sizeof(model.Attr{}))
)

// EstimateBytes is a cheap, conservative estimate of the memory the
// events hold: the structs, every attribute slot, the bytes of every
// string (counted even where events share them) and the X-Ray documents.
func EstimateBytes(events []model.Event) int64 {
	var n int64
	for i := range events {
		e := &events[i]
		n += EventSize + int64(cap(e.Attrs))*AttrSize + int64(cap(e.Doc)) +
			int64(len(e.Dataset)+len(e.Name)+len(e.ServiceName))
		for j := range e.Attrs {
			n += int64(len(e.Attrs[j].Key) + len(e.Attrs[j].Value.Str))
		}
	}
	return n
}
