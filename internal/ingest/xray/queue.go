package xray

import "sync"

// docQueue is the FIFO of decoded documents between the readers and the
// batcher. It has no bound of its own: every document in it holds its
// bytes on the daemon's budgets (queued.own, queued.pending), and a
// document that does not fit there is dropped before it is pushed, so the
// queue is bounded by bytes, not by a count of documents.
type docQueue struct {
	mu     sync.Mutex
	items  []queued
	head   int // items[:head] were taken
	closed bool
	wake   chan struct{} // a token when something was pushed or the queue closed
}

func newDocQueue() *docQueue {
	return &docQueue{wake: make(chan struct{}, 1)}
}

// push appends q and wakes the taker. It reports false, and keeps
// nothing, once the queue is closed.
func (dq *docQueue) push(q queued) bool {
	dq.mu.Lock()
	if dq.closed {
		dq.mu.Unlock()
		return false
	}
	dq.items = append(dq.items, q)
	dq.mu.Unlock()
	select {
	case dq.wake <- struct{}{}:
	default:
	}
	return true
}

// take appends to dst the oldest documents, until they hold at least
// maxEvents spans or the queue is empty, and removes them. drained
// reports that the queue is closed and empty: nothing will come any more.
func (dq *docQueue) take(dst []queued, maxEvents int) (_ []queued, drained bool) {
	dq.mu.Lock()
	defer dq.mu.Unlock()
	n := 0
	for n < maxEvents && dq.head < len(dq.items) {
		q := dq.items[dq.head]
		dq.items[dq.head] = queued{} // the backing array must not keep taken events alive
		dq.head++
		dst = append(dst, q)
		n += len(q.events)
	}
	if dq.head == len(dq.items) {
		// Empty: start again at the front; a burst's array is not kept.
		if cap(dq.items) > 4096 {
			dq.items = nil
		} else {
			dq.items = dq.items[:0]
		}
		dq.head = 0
	} else if dq.head > len(dq.items)/2 {
		// Mostly taken: move the rest to the front, so that a queue that
		// never empties does not grow.
		rest := copy(dq.items, dq.items[dq.head:])
		clear(dq.items[rest:])
		dq.items = dq.items[:rest]
		dq.head = 0
	}
	return dst, dq.closed && len(dq.items) == 0
}

// len returns the number of documents queued.
func (dq *docQueue) len() int {
	dq.mu.Lock()
	defer dq.mu.Unlock()
	return len(dq.items) - dq.head
}

// close makes push refuse and wakes the taker.
func (dq *docQueue) close() {
	dq.mu.Lock()
	dq.closed = true
	dq.mu.Unlock()
	select {
	case dq.wake <- struct{}{}:
	default:
	}
}
