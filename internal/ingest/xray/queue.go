package xray

import "sync"

// fifo is a queue between goroutines: the readers and the decoders (of
// datagrams), the decoders and the batcher (of decoded documents). It has
// no bound of its own: what is pushed holds its bytes on a budget first
// (Daemon.rawUsed for datagrams; Daemon.own and Daemon.pending for
// documents) and is dropped when they do not fit, so the queues are
// bounded by bytes, not by a count.
type fifo[T any] struct {
	mu     sync.Mutex
	items  []T
	head   int // items[:head] were taken
	closed bool
	wake   chan struct{} // a token when something was pushed
	done   chan struct{} // closed by close
}

func newFIFO[T any]() *fifo[T] {
	return &fifo[T]{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push appends v and wakes a taker. It reports false, and keeps nothing,
// once the queue is closed.
func (f *fifo[T]) push(v T) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.items = append(f.items, v)
	f.mu.Unlock()
	f.signal()
	return true
}

func (f *fifo[T]) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take appends to dst the oldest items, until their weights add up to at
// least max or the queue is empty, and removes them. drained reports that
// the queue is closed and empty: nothing will come any more.
func (f *fifo[T]) take(dst []T, max int, weight func(*T) int) (_ []T, drained bool) {
	f.mu.Lock()
	n := 0
	for n < max && f.head < len(f.items) {
		dst = append(dst, f.items[f.head])
		n += weight(&f.items[f.head])
		var zero T
		f.items[f.head] = zero // the backing array must not keep taken items alive
		f.head++
	}
	left := len(f.items) - f.head
	switch {
	case left == 0:
		// Empty: start again at the front; a burst's array is not kept.
		if cap(f.items) > 4096 {
			f.items = nil
		} else {
			f.items = f.items[:0]
		}
		f.head = 0
	case f.head > left:
		// Mostly taken: move the rest to the front, so that a queue that
		// never empties does not grow.
		rest := copy(f.items, f.items[f.head:])
		clear(f.items[rest:])
		f.items = f.items[:rest]
		f.head = 0
	}
	drained = f.closed && left == 0
	f.mu.Unlock()
	if left > 0 {
		f.signal() // for another taker
	}
	return dst, drained
}

// wait returns when something may have been pushed or the queue closed.
func (f *fifo[T]) wait() {
	select {
	case <-f.wake:
	case <-f.done:
	}
}

// len returns the number of items queued.
func (f *fifo[T]) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items) - f.head
}

// close makes push refuse and wakes every taker. It may be called once.
func (f *fifo[T]) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	close(f.done)
}
